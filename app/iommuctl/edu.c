/*
 * QEMU's edu test device (QEMU docs/specs/edu.rst), the one device iommuctl
 * can make do DMA on the real backends. iopt binds it (iopt_device_bind
 * opens it and enables bus mastering); here BAR0 is mapped through the
 * handle iopt_device_pci() gives, and edu's DMA engine is programmed to copy
 * between its 4 KiB internal buffer and an IOVA.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "iopt/env.h"
#include "iopt/iopt.h"
#include "iopt/pci.h"
#include "iommuctl.h"

/* edu BAR0 registers (edu.rst: "DMA controller"). */
#define EDU_REG_ID 0x00            /* 0xRRrr00ed */
#define EDU_REG_DMA_SRC 0x80
#define EDU_REG_DMA_DST 0x88
#define EDU_REG_DMA_COUNT 0x90
#define EDU_REG_DMA_CMD 0x98
#define EDU_DMA_CMD_RUN 0x1ull     /* start; cleared by edu when the transfer is done */
#define EDU_DMA_CMD_TO_RAM 0x2ull  /* direction: internal buffer -> RAM */
/* The internal buffer is at this device address, EDU_DMA_BUF_LEN bytes long. */
#define EDU_DMA_BUF 0x40000ull
#define EDU_DMA_BUF_LEN 4096u
/* One transfer takes ~100 ms of virtual time under TCG; allow a slow host. */
#define EDU_DMA_TIMEOUT_NS (10ull * 1000000000ull)

static int find_cb(const struct iopt_pci_dev_info *info, void *arg)
{
	struct edu_found *f = arg;

	if (info->vendor_id != EDU_VENDOR_ID || info->device_id != EDU_DEVICE_ID)
		return 0;
	return iopt_pci_addr_format(&info->addr, f->bdf, sizeof(f->bdf)) == 0 ? 1 : -EINVAL;
}

int edu_find(struct edu_found *f)
{
	int rc;

	memset(f, 0, sizeof(*f));
	rc = iopt_pci_enumerate(NULL, false, find_cb, f);
	return rc == 1 ? 0 : rc == 0 ? -ENODEV : rc;
}

int edu_open(struct iopt_ctx *ctx, uint32_t dev_id, struct edu *edu)
{
	struct iopt_pci_dev *pd;
	int rc = iopt_device_pci(ctx, dev_id, &pd);

	edu->bar0 = NULL;
	if (rc)
		return rc;
	if (iopt_pci_vendor_id(pd) != EDU_VENDOR_ID || iopt_pci_device_id(pd) != EDU_DEVICE_ID)
		return -ENOTSUP;
	rc = iopt_pci_map_bar(pd, 0, &edu->bar0);
	if (rc)
		return rc;
	if ((iopt_mmio_read32(edu->bar0, EDU_REG_ID) & 0xffff) != 0x00ed) {
		edu_close(edu);
		return -EIO;
	}
	return 0;
}

void edu_close(struct edu *edu)
{
	iopt_mmio_unmap(edu->bar0);
	edu->bar0 = NULL;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int edu_dma(const struct edu *edu, bool to_device, uint64_t iova, uint32_t len)
{
	uint64_t deadline;

	/* QEMU aborts on a transfer that reaches the end of the buffer. */
	if (len == 0 || len >= EDU_DMA_BUF_LEN)
		return -EINVAL;
	if (iopt_mmio_read64(edu->bar0, EDU_REG_DMA_CMD) & EDU_DMA_CMD_RUN)
		return -EBUSY;
	iopt_mmio_write64(edu->bar0, EDU_REG_DMA_SRC, to_device ? iova : EDU_DMA_BUF);
	iopt_mmio_write64(edu->bar0, EDU_REG_DMA_DST, to_device ? EDU_DMA_BUF : iova);
	iopt_mmio_write64(edu->bar0, EDU_REG_DMA_COUNT, len);
	iopt_mmio_write64(edu->bar0, EDU_REG_DMA_CMD,
			  EDU_DMA_CMD_RUN | (to_device ? 0 : EDU_DMA_CMD_TO_RAM));
	deadline = now_ns() + EDU_DMA_TIMEOUT_NS;
	while (iopt_mmio_read64(edu->bar0, EDU_REG_DMA_CMD) & EDU_DMA_CMD_RUN) {
		if (now_ns() > deadline)
			return -ETIMEDOUT;
		usleep(1000);
	}
	return 0;
}
