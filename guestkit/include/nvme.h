/* NVMe driver shared by the checks (nvmetest.c) and the load generator (nvmebench.c). */
#ifndef NVME_H
#define NVME_H
#include "kit.h"

#define NVME_MAXCTRL    4
#define NVME_IOQ_SIZE   256             /* I/O SQ/CQ entries (capped by CAP.MQES + 1) */
#define NVME_MAX_XFER   (1u << 20)      /* per command, also capped by MDTS; one PRP list page */
#define NVME_SCRATCH    (256u << 10)    /* data buffer for the write/read/trim checks */
#define NVME_WIN_LO     0xc0000000ul    /* 32-bit PCI MMIO window for BARs firmware did not assign */
#define NVME_WIN_END    0xfec00000ul
#define ST_TIMEOUT      0xffffffffu

struct sqe {
    u8 opc, flags; u16 cid; u32 nsid; u32 cdw2, cdw3; u64 mptr; u64 prp1, prp2;
    u32 cdw10, cdw11, cdw12, cdw13, cdw14, cdw15;
};
struct cqe { u32 dw0, dw1; u16 sqhd, sqid, cid, status; };

struct nq {
    volatile struct sqe *sq;
    volatile struct cqe *cq;
    u16 qid, size, tail, head, cid;
    u8 phase;
    u32 unacked;
    u64 sqdb, cqdb;
    u32 vec;                            /* interrupt vector of the CQ (0: polled) */
    u32 cpu;
    /* Shadow doorbells (Doorbell Buffer Config): this queue's SQ tail / CQ head slots in the shadow
       buffer and the EventIdx buffer; NULL for plain doorbells (and always for the admin queue). */
    volatile u32 *sdb_sq, *sdb_cq, *ei_sq, *ei_cq;
    u64 rings;                          /* real doorbell writes (SQ tail + CQ head) */
    u64 shadow;                         /* shadow doorbell updates (0 with plain doorbells) */
};

/* nvme_ctrl.dbbuf */
enum { DBBUF_OFF, DBBUF_ON, DBBUF_FAILED };

struct nctrl {
    int n, dev, fn, ok, assigned, irq_pin;
    u64 bar, barsize, cap;
    u32 vs, mqes, dstrd, to_ms, mpsmin;
    int msix_cap, msix_bir; u32 msix_n; u64 msix_tab; u32 aq_vec;
    struct nq aq;
    struct nq ioq[MAXCPU];
    int pairs, vectors;
    char model[41], serial[21], fw[9];
    u32 mdts, nn, oacs, oncs, vwc, nsqa, ncqa;
    u64 nsze; u32 lba_size, lba_shift, max_xfer; u8 dlfeat;
    u8 *idbuf, *scratch; u64 *list;
    int dbbuf;                          /* DBBUF_*: shadow doorbells for the I/O queues */
    u32 *dbbuf_shadow, *dbbuf_ei;       /* the two pages given to Doorbell Buffer Config */
};

extern struct nctrl nvme_ctrls[NVME_MAXCTRL];
extern int nvme_nctrl;
int nvme_probe(void);
void *dma_alloc(u64 size, u64 align);
u64 pci_bar_size(int d, int f, int i, u64 *base, int *is64);   /* firmware-style sizing */
u64 pci_bar_alloc(u64 size);                                    /* a free place in the 32-bit window */
int pci_find_cap(int d, int f, u8 id);
u32 crc32_update(u32 crc, const u8 *p, u64 n);
void nq_push(struct nq *q, struct sqe *e);
/* Linux's nvme_dbbuf_need_event: ring when EventIdx lies in [old, new) (16-bit wrap) */
static inline int nvme_need_event(u16 event_idx, u16 new_idx, u16 old)
{
    return (u16)(new_idx - event_idx - 1) < (u16)(new_idx - old);
}
void nq_ring_sq(struct nq *q);
void nq_ring_cq(struct nq *q);
int nq_pop(struct nq *q, struct cqe *out);
u32 nvme_sync(struct nq *q, struct sqe *e, struct cqe *out, u64 timeout_us);
void nvme_prps(struct sqe *e, u64 buf, u32 len, u64 *list);
const char *nvme_dbbuf_name(int dbbuf);
u32 nvme_rw(struct nctrl *c, struct nq *q, u8 opc, u64 lba, u32 nblk, void *buf, u64 *list, u64 timeout_us);
void nvme_msix_mask(struct nctrl *c, int entry, int masked);
#endif
