/*
 * A DMAR with several units and every structure type iasl 20200925 knows:
 *  - DRHD 0xfed90000, segment 0, explicit scopes: the PCI sub-hierarchy of
 *    the bridge reached by the 2-hop path 00:1c.0 -> (its secondary bus):00.0,
 *    and the endpoint 00:02.0;
 *  - DRHD 0xfed91000, segment 0, INCLUDE_PCI_ALL, with the IOAPIC (id 8,
 *    source 00:1f.0 on bus 0xf0), an MSI-capable HPET (number 0, source
 *    00:1f.7) and an ACPI namespace device (ANDD number 1);
 *  - DRHD 0xfed92000, segment 1, INCLUDE_PCI_ALL (this iasl has no Size
 *    field, only Reserved, which must be 0; the unit test sets Size to 1, 8 KiB);
 *  - RMRR 0x3e000000..0x3e0fffff for the USB controller 00:14.0;
 *  - ATSR (not ALL_PORTS) for the root port 00:1c.0;
 *  - RHSA 0xfed90000 -> proximity domain 0, 0xfed92000 -> 1;
 *  - ANDD device 1 "\_SB.PCI0.UAR1".
 * Flags INTR_REMAP | X2APIC_OPT_OUT | DMA_CTRL_PLATFORM_OPT_IN, 48-bit HAW.
 * SATC (type 5, VT-d 3.2) is newer than this iasl: the unit test appends
 * one SATC structure to the compiled bytes.
 */
[0004]                          Signature : "DMAR"    [DMA Remapping table]
[0004]                       Table Length : 00000000
[0001]                           Revision : 01
[0001]                           Checksum : 00
[0006]                             Oem ID : "IOPT  "
[0008]                       Oem Table ID : "MULTI   "
[0004]                       Oem Revision : 00000001
[0004]                    Asl Compiler ID : "INTL"
[0004]              Asl Compiler Revision : 00000001

[0001]                 Host Address Width : 2F
[0001]                              Flags : 07
[0010]                           Reserved : 00 00 00 00 00 00 00 00 00 00

[0002]                      Subtable Type : 0000 [Hardware Unit Definition]
[0002]                             Length : 0022
[0001]                              Flags : 00
[0001]                           Reserved : 00
[0002]                 PCI Segment Number : 0000
[0008]              Register Base Address : 00000000FED90000

[0001]                  Device Scope Type : 02 [PCI Bridge Device]
[0001]                       Entry Length : 0A
[0002]                           Reserved : 0000
[0001]                     Enumeration ID : 00
[0001]                     PCI Bus Number : 00
[0002]                           PCI Path : 1C,00
[0002]                           PCI Path : 00,00

[0001]                  Device Scope Type : 01 [PCI Endpoint Device]
[0001]                       Entry Length : 08
[0002]                           Reserved : 0000
[0001]                     Enumeration ID : 00
[0001]                     PCI Bus Number : 00
[0002]                           PCI Path : 02,00

[0002]                      Subtable Type : 0000 [Hardware Unit Definition]
[0002]                             Length : 0028
[0001]                              Flags : 01
[0001]                           Reserved : 00
[0002]                 PCI Segment Number : 0000
[0008]              Register Base Address : 00000000FED91000

[0001]                  Device Scope Type : 03 [IOAPIC Device]
[0001]                       Entry Length : 08
[0002]                           Reserved : 0000
[0001]                     Enumeration ID : 08
[0001]                     PCI Bus Number : F0
[0002]                           PCI Path : 1F,00

[0001]                  Device Scope Type : 04 [Message-capable HPET Device]
[0001]                       Entry Length : 08
[0002]                           Reserved : 0000
[0001]                     Enumeration ID : 00
[0001]                     PCI Bus Number : 00
[0002]                           PCI Path : 1F,07

[0001]                  Device Scope Type : 05 [ACPI Namespace Device]
[0001]                       Entry Length : 08
[0002]                           Reserved : 0000
[0001]                     Enumeration ID : 01
[0001]                     PCI Bus Number : 00
[0002]                           PCI Path : 15,01

[0002]                      Subtable Type : 0000 [Hardware Unit Definition]
[0002]                             Length : 0010
[0001]                              Flags : 01
[0001]                           Reserved : 00
[0002]                 PCI Segment Number : 0001
[0008]              Register Base Address : 00000000FED92000

[0002]                      Subtable Type : 0001 [Reserved Memory Region]
[0002]                             Length : 0020
[0002]                           Reserved : 0000
[0002]                 PCI Segment Number : 0000
[0008]                       Base Address : 000000003E000000
[0008]                End Address (limit) : 000000003E0FFFFF

[0001]                  Device Scope Type : 01 [PCI Endpoint Device]
[0001]                       Entry Length : 08
[0002]                           Reserved : 0000
[0001]                     Enumeration ID : 00
[0001]                     PCI Bus Number : 00
[0002]                           PCI Path : 14,00

[0002]                      Subtable Type : 0002 [Root Port ATS Capability]
[0002]                             Length : 0010
[0001]                              Flags : 00
[0001]                           Reserved : 00
[0002]                 PCI Segment Number : 0000

[0001]                  Device Scope Type : 02 [PCI Bridge Device]
[0001]                       Entry Length : 08
[0002]                           Reserved : 0000
[0001]                     Enumeration ID : 00
[0001]                     PCI Bus Number : 00
[0002]                           PCI Path : 1C,00

[0002]                      Subtable Type : 0003 [Remapping Hardware Static Affinity]
[0002]                             Length : 0014
[0004]                           Reserved : 00000000
[0008]                       Base Address : 00000000FED90000
[0004]                   Proximity Domain : 00000000

[0002]                      Subtable Type : 0003 [Remapping Hardware Static Affinity]
[0002]                             Length : 0014
[0004]                           Reserved : 00000000
[0008]                       Base Address : 00000000FED92000
[0004]                   Proximity Domain : 00000001

[0002]                      Subtable Type : 0004 [ACPI Namespace Device Declaration]
[0002]                             Length : 0017
[0003]                           Reserved : 000000
[0001]                      Device Number : 01
[0000]                        Device Name : "\_SB.PCI0.UAR1"
