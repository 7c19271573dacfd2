/*
 * An IORT like the one QEMU 7.2 builds for `-M virt,iommu=smmuv3`, plus a
 * named component:
 *  0x30  ITS group, one ITS (id 0);
 *  0x48  SMMUv3 rev 1 at 0x09050000, COHACC override and proximity domain 0
 *        valid, generic model, wired GSIVs 0x6a..0x6d, one mapping of its
 *        own MSI DeviceID (single mapping, output 0x10000) to the ITS group;
 *  0xa0  root complex rev 1, segment 0, coherent, ATS not supported,
 *        mapping RIDs 0x0000..0xffff (Number of IDs 0xffff) to StreamIDs
 *        0x0000.. of the SMMUv3;
 *  0xd8  named component "\_SB.DMA0", StreamIDs 0x20000..0x20003 of the
 *        SMMUv3 from input IDs 0..3.
 * Node offsets are written out: Output Reference fields name them.
 */
[0004]                          Signature : "IORT"    [IO Remapping Table]
[0004]                       Table Length : 00000000
[0001]                           Revision : 03
[0001]                           Checksum : 00
[0006]                             Oem ID : "BOCHS "
[0008]                       Oem Table ID : "BXPC    "
[0004]                       Oem Revision : 00000001
[0004]                    Asl Compiler ID : "BXPC"
[0004]              Asl Compiler Revision : 00000001

[0004]                         Node Count : 00000004
[0004]                        Node Offset : 00000030
[0004]                           Reserved : 00000000

[0001]                               Type : 00
[0002]                             Length : 0018
[0001]                           Revision : 00
[0004]                           Reserved : 00000000
[0004]                      Mapping Count : 00000000
[0004]                     Mapping Offset : 00000000

[0004]                           ItsCount : 00000001
[0004]                        Identifiers : 00000000

[0001]                               Type : 04
[0002]                             Length : 0058
[0001]                           Revision : 01
[0004]                           Reserved : 00000000
[0004]                      Mapping Count : 00000001
[0004]                     Mapping Offset : 00000044

[0008]                       Base Address : 0000000009050000
[0004]              Flags (decoded below) : 00000009
                          COHACC Override : 1
                            HTTU Override : 0
                   Proximity Domain Valid : 1
[0004]                           Reserved : 00000000
[0008]                      VATOS Address : 0000000000000000
[0004]                              Model : 00000000
[0004]                         Event GSIV : 0000006A
[0004]                           PRI GSIV : 0000006B
[0004]                          GERR GSIV : 0000006C
[0004]                          Sync GSIV : 0000006D
[0004]                   Proximity Domain : 00000000
[0004]            Device ID Mapping Index : 00000000

[0004]                         Input base : 00000000
[0004]                           ID Count : 00000000
[0004]                        Output Base : 00010000
[0004]                   Output Reference : 00000030
[0004]              Flags (decoded below) : 00000001
                           Single Mapping : 1

[0001]                               Type : 02
[0002]                             Length : 0038
[0001]                           Revision : 01
[0004]                           Reserved : 00000000
[0004]                      Mapping Count : 00000001
[0004]                     Mapping Offset : 00000024

[0008]                  Memory Properties : [IORT Memory Access Properties]
[0004]                    Cache Coherency : 00000001
[0001]              Hints (decoded below) : 00
                                Transient : 0
                           Write Allocate : 0
                            Read Allocate : 0
                                 Override : 0
[0002]                           Reserved : 0000
[0001]       Memory Flags (decoded below) : 03
                                Coherency : 1
                         Device Attribute : 1
[0004]                      ATS Attribute : 00000000
[0004]                 PCI Segment Number : 00000000
[0001]                  Memory Size Limit : 30
[0003]                           Reserved : 000000

[0004]                         Input base : 00000000
[0004]                           ID Count : 0000FFFF
[0004]                        Output Base : 00000000
[0004]                   Output Reference : 00000048
[0004]              Flags (decoded below) : 00000000
                           Single Mapping : 0

[0001]                               Type : 01
[0002]                             Length : 0044
[0001]                           Revision : 00
[0004]                           Reserved : 00000000
[0004]                      Mapping Count : 00000001
[0004]                     Mapping Offset : 00000030

[0004]                         Node Flags : 00000000
[0008]                  Memory Properties : [IORT Memory Access Properties]
[0004]                    Cache Coherency : 00000001
[0001]              Hints (decoded below) : 00
                                Transient : 0
                           Write Allocate : 0
                            Read Allocate : 0
                                 Override : 0
[0002]                           Reserved : 0000
[0001]       Memory Flags (decoded below) : 00
                                Coherency : 0
                         Device Attribute : 0
[0001]                  Memory Size Limit : 28
[0010]                        Device Name : "\_SB.DMA0"
[0009]                            Padding : 00 00 00 00 00 00 00 00 00

[0004]                         Input base : 00000000
[0004]                           ID Count : 00000003
[0004]                        Output Base : 00020000
[0004]                   Output Reference : 00000048
[0004]              Flags (decoded below) : 00000000
                           Single Mapping : 0
