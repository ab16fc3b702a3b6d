/*
 * NVMe (base spec 1.4) driver and checks, at CPL3.  Only the MSI-X interrupt handlers (a per-vector
 * counter + EOI in kernel.c) and the sleep in SYS_WAIT_CHANGE run at CPL0.
 *
 * Controllers: PCI class 01:08:02 on bus 0.  BAR0 is sized here and given an address from the 32-bit
 * PCI window when firmware left it unassigned (Apiary's direct boot).  One I/O queue pair per CPU,
 * each CQ with its own MSI-X vector aimed at that CPU.  Data buffers come from a bump allocator over
 * the E820 RAM after the kit's image (identity-mapped, so virtual = physical = DMA address).
 */
#include "kit.h"
#include "nvme.h"

struct nctrl nvme_ctrls[NVME_MAXCTRL];
int nvme_nctrl;
static int nvme_probed;

/* ---- memory for the device ------------------------------------------------------------------ */

static u64 arena_cur, arena_end;

static void arena_init(void)
{
    const struct e820_entry *e = (const struct e820_entry *)(bootparams + BP_E820_TABLE);
    int n = BP8(bootparams, BP_E820_ENTRIES);
    u64 start = ((u64)_end + 4095) & ~4095ul;
    arena_cur = arena_end = start;
    for (int i = 0; i < n && i < E820_MAX; i++)
        if (e[i].type == 1 && e[i].addr <= start && e[i].addr + e[i].size > start)
            arena_end = e[i].addr + e[i].size;
    u64 rd = BP32(bootparams, BP_RAMDISK_IMAGE) | ((u64)BP32(bootparams, BP_EXT_RAMDISK_IMG) << 32);
    u64 rs = BP32(bootparams, BP_RAMDISK_SIZE) | ((u64)BP32(bootparams, BP_EXT_RAMDISK_SIZE) << 32);
    if (rd && rs && rd < arena_end && rd + rs > arena_cur) {
        if (rd > arena_cur) arena_end = rd;
        else arena_cur = (rd + rs + 4095) & ~4095ul;
    }
    if (arena_end > kinfo.mapped_top) arena_end = kinfo.mapped_top;
}

/* zeroed, `align` a power of two >= 4096 */
void *dma_alloc(u64 size, u64 align)
{
    if (!arena_end) arena_init();
    u64 a = (arena_cur + align - 1) & ~(align - 1);
    size = (size + 4095) & ~4095ul;
    if (a + size > arena_end || a + size < a) return NULL;
    arena_cur = a + size;
    memset((void *)a, 0, size);
    return (void *)a;
}

/* ---- helpers -------------------------------------------------------------------------------- */

static u32 crc_table[256];
u32 crc32_update(u32 crc, const u8 *p, u64 n)
{
    if (!crc_table[1])
        for (u32 i = 0; i < 256; i++) {
            u32 c = i;
            for (int k = 0; k < 8; k++) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
            crc_table[i] = c;
        }
    crc = ~crc;
    while (n--) crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

static u32 rd32(struct nctrl *c, u32 off) { return mmio_read32(c->bar + off); }
static void wr32(struct nctrl *c, u32 off, u32 v) { barrier(); mmio_write32(c->bar + off, v); }

static void cpystr(char *dst, const u8 *src, int n)
{
    int i;
    for (i = 0; i < n; i++) dst[i] = (src[i] >= 0x20 && src[i] < 0x7f && src[i] != '"') ? (char)src[i] : '?';
    while (i > 0 && (dst[i - 1] == ' ' || (dst[i - 1] == '?' && src[i - 1] == 0))) i--;
    dst[i] = 0;
}

/* ---- queues --------------------------------------------------------------------------------- */

void nq_push(struct nq *q, struct sqe *e)
{
    e->cid = q->cid++;
    volatile u64 *d = (volatile u64 *)&q->sq[q->tail];
    const u64 *s = (const u64 *)e;
    for (int i = 0; i < 8; i++) d[i] = s[i];
    if (++q->tail == q->size) q->tail = 0;
}

/* A doorbell update. With a shadow doorbell (I/O queues after Doorbell Buffer Config) the new value goes
   to the shadow slot first; after a full fence (the shadow store must be visible before EventIdx is
   read, or a device that is just going idle could be missed) the real doorbell is written only when
   the device's EventIdx lies in [old, new), as Linux does.  Without one, the doorbell is always written. */
static void db_update(struct nq *q, volatile u32 *sdb, volatile u32 *ei, u64 db, u16 v)
{
    barrier();                                  /* SQ entries / CQ reads before the new value */
    if (sdb) {
        u16 old = (u16)*sdb;
        *sdb = v;
        q->shadow++;
        __asm__ volatile("mfence" ::: "memory");
        if (!nvme_need_event((u16)*ei, v, old)) return;
    }
    mmio_write32(db, v);
    q->rings++;
}

void nq_ring_sq(struct nq *q) { db_update(q, q->sdb_sq, q->ei_sq, q->sqdb, q->tail); }
void nq_ring_cq(struct nq *q) { db_update(q, q->sdb_cq, q->ei_cq, q->cqdb, q->head); q->unacked = 0; }

const char *nvme_dbbuf_name(int dbbuf)
{
    return dbbuf == DBBUF_ON ? "on" : dbbuf == DBBUF_FAILED ? "failed" : "off";
}

int nq_pop(struct nq *q, struct cqe *out)
{
    volatile struct cqe *e = &q->cq[q->head];
    u16 st = e->status;
    if ((st & 1) != q->phase) return 0;
    barrier();
    out->dw0 = e->dw0; out->dw1 = e->dw1; out->sqhd = e->sqhd; out->sqid = e->sqid;
    out->cid = e->cid; out->status = st;
    if (++q->head == q->size) { q->head = 0; q->phase ^= 1; }
    q->unacked++;
    return 1;
}

/* Submit one command and wait for its completion (polled, or sleeping on the CQ's vector).
   Returns the 15-bit status (SC in bits 0-7, SCT in 8-10, DNR in 14) or ST_TIMEOUT. */
u32 nvme_sync(struct nq *q, struct sqe *e, struct cqe *out, u64 timeout_us)
{
    struct cqe r;
    int irq = q->vec != 0;
    u32 seen = irq ? kinfo.vec_count[q->vec] : 0;
    nq_push(q, e);
    u16 cid = e->cid;
    nq_ring_sq(q);
    u64 end = now_us() + timeout_us;
    for (;;) {
        if (nq_pop(q, &r)) {
            nq_ring_cq(q);
            if (r.cid == cid) {         /* completions of timed-out commands are dropped */
                if (out) *out = r;
                return (r.status >> 1) & 0x7fff;
            }
            continue;
        }
        u64 now = now_us();
        if (now > end) return ST_TIMEOUT;
        if (irq) {
            wait_change(&kinfo.vec_count[q->vec], seen, end - now);
            seen = kinfo.vec_count[q->vec];
        } else cpu_relax();
    }
}

/* PRP1/PRP2 (and a PRP list in `list`, 512 entries, no chaining) for a contiguous buffer */
void nvme_prps(struct sqe *e, u64 buf, u32 len, u64 *list)
{
    e->prp1 = buf;
    u64 first = 4096 - (buf & 4095);
    e->prp2 = 0;
    if (len <= first) return;
    u64 p = buf + first, rem = len - first;
    if (rem <= 4096) { e->prp2 = p; return; }
    int n = 0;
    while (rem) { list[n++] = p; p += 4096; rem = rem > 4096 ? rem - 4096 : 0; }
    e->prp2 = (u64)list;
}

u32 nvme_rw(struct nctrl *c, struct nq *q, u8 opc, u64 lba, u32 nblk, void *buf, u64 *list, u64 timeout_us)
{
    struct sqe e;
    memset(&e, 0, sizeof e);
    e.opc = opc;
    e.nsid = 1;
    nvme_prps(&e, (u64)buf, nblk * c->lba_size, list);
    e.cdw10 = (u32)lba;
    e.cdw11 = (u32)(lba >> 32);
    e.cdw12 = nblk - 1;
    return nvme_sync(q, &e, NULL, timeout_us);
}

static u32 admin(struct nctrl *c, u8 opc, u32 nsid, u64 prp1, u32 cdw10, u32 cdw11, struct cqe *out)
{
    struct sqe e;
    memset(&e, 0, sizeof e);
    e.opc = opc; e.nsid = nsid; e.prp1 = prp1; e.cdw10 = cdw10; e.cdw11 = cdw11;
    return nvme_sync(&c->aq, &e, out, 5000000);
}

/* ---- PCI ------------------------------------------------------------------------------------ */

/* Size a memory BAR (decoding off while probing). Returns the size, *base the current address. */
u64 pci_bar_size(int d, int f, int i, u64 *base, int *is64)
{
    int off = 0x10 + 4 * i;
    u32 lo = pci_cfg_read(0, d, f, off);
    *is64 = 0;
    *base = 0;
    if (lo & 1) return 0;
    u32 cmd = pci_cfg_read(0, d, f, 4);
    pci_cfg_write(0, d, f, 4, cmd & ~3u);
    pci_cfg_write(0, d, f, off, 0xffffffffu);
    u32 plo = pci_cfg_read(0, d, f, off);
    pci_cfg_write(0, d, f, off, lo);
    u64 mask = 0xffffffff00000000ul | (plo & ~0xfu), hi = 0;
    if (((lo >> 1) & 3) == 2 && i < 5) {
        *is64 = 1;
        hi = pci_cfg_read(0, d, f, off + 4);
        pci_cfg_write(0, d, f, off + 4, 0xffffffffu);
        u32 phi = pci_cfg_read(0, d, f, off + 4);
        pci_cfg_write(0, d, f, off + 4, (u32)hi);
        mask = ((u64)phi << 32) | (plo & ~0xfu);
    }
    pci_cfg_write(0, d, f, 4, cmd);
    *base = (hi << 32) | (lo & ~0xfu);
    if (!(plo & ~0xfu)) return 0;
    return ~mask + 1;
}

/* An address for a BAR of `size` bytes: naturally aligned, in the uncached part of the 32-bit
   PCI window, clear of every memory BAR already assigned on bus 0. */
u64 pci_bar_alloc(u64 size)
{
    static struct { u64 a, e; } used[64];
    int nused = 0;
    for (int d = 0; d < 32; d++) {
        u32 id0 = pci_cfg_read(0, d, 0, 0);
        if ((id0 & 0xffff) == 0xffff) continue;
        int mf = (pci_cfg_read(0, d, 0, 0x0c) >> 23) & 1;
        for (int f = 0; f < (mf ? 8 : 1); f++) {
            if ((pci_cfg_read(0, d, f, 0) & 0xffff) == 0xffff) continue;
            int ht = (pci_cfg_read(0, d, f, 0x0c) >> 16) & 0x7f;
            int nb = ht == 0 ? 6 : ht == 1 ? 2 : 0;
            for (int i = 0; i < nb; i++) {
                u32 lo = pci_cfg_read(0, d, f, 0x10 + 4 * i);
                if (lo & 1) continue;
                int is64 = ((lo >> 1) & 3) == 2;
                if ((lo & ~0xfu) || (is64 && pci_cfg_read(0, d, f, 0x14 + 4 * i))) {
                    u64 base, sz = pci_bar_size(d, f, i, &base, &is64);
                    if (sz && nused < 64) { used[nused].a = base; used[nused].e = base + sz; nused++; }
                }
                if (is64) i++;
            }
        }
    }
    if (size < 4096) size = 4096;
    u64 lo = kinfo.low_top > NVME_WIN_LO ? kinfo.low_top : NVME_WIN_LO;
    u64 a = (lo + size - 1) & ~(size - 1);
    for (int again = 1; again; ) {
        again = 0;
        for (int i = 0; i < nused; i++)
            if (a < used[i].e && a + size > used[i].a) {
                a = (used[i].e + size - 1) & ~(size - 1);
                again = 1;
            }
    }
    return a + size <= NVME_WIN_END ? a : 0;
}

int pci_find_cap(int d, int f, u8 id)
{
    if (!(pci_cfg_read(0, d, f, 4) & (1u << 20))) return 0;
    int p = pci_cfg_read(0, d, f, 0x34) & 0xfc;
    for (int n = 0; p && n < 48; n++) {
        u32 v = pci_cfg_read(0, d, f, p);
        if ((v & 0xff) == id) return p;
        p = (v >> 8) & 0xfc;
    }
    return 0;
}

/* ---- controller bring-up ------------------------------------------------------------------- */

static int wait_rdy(struct nctrl *c, u32 want)
{
    u64 end = now_us() + (u64)c->to_ms * 1000 + 100000;
    for (;;) {
        u32 st = rd32(c, 0x1c);
        if (st == 0xffffffffu) return -1;
        if ((st & 1) == want) return 0;
        if (want && (st & 2)) return -2;        /* CFS */
        if (now_us() > end) return -3;
        udelay(1000);
    }
}

static void msix_set(struct nctrl *c, int entry, u32 apic, u32 vec)
{
    u64 t = c->msix_tab + 16ul * entry;
    mmio_write32(t + 0, 0xfee00000u | (apic << 12));
    mmio_write32(t + 4, 0);
    mmio_write32(t + 8, vec);                   /* fixed, edge */
    mmio_write32(t + 12, 0);                    /* unmasked */
}

void nvme_msix_mask(struct nctrl *c, int entry, int masked)
{
    if (c->msix_tab) mmio_write32(c->msix_tab + 16ul * entry + 12, masked ? 1 : 0);
}

static u32 next_vec = VEC_DYN_BASE;

#define FAIL(...) do { char _b[160]; snprintf(_b, sizeof _b, __VA_ARGS__); \
    kprintf("KIT nvme-ctrl fail %s bdf=00:%02x.%x ctrl=%d", _b, c->dev, c->fn, c->n); return -1; } while (0)

static int ctrl_init(struct nctrl *c, int ncpu)
{
    int d = c->dev, f = c->fn, is64;
    u64 base;
    c->barsize = pci_bar_size(d, f, 0, &base, &is64);
    if (!c->barsize) FAIL("BAR0 is not a memory BAR");
    char fa[16] = "";
    opt("kit.nvme.bar=", fa, sizeof fa);
    if (!strcmp(fa, "assign")) {                /* test aid: behave as if firmware had not assigned it */
        u32 cmd = pci_cfg_read(0, d, f, 4);
        pci_cfg_write(0, d, f, 4, cmd & ~7u);
        pci_cfg_write(0, d, f, 0x10, pci_cfg_read(0, d, f, 0x10) & 0xf);
        if (is64) pci_cfg_write(0, d, f, 0x14, 0);
        base = 0;
    }
    if (!base || base < kinfo.low_top || base + c->barsize > NVME_WIN_END || base < NVME_WIN_LO) {
        u64 a = pci_bar_alloc(c->barsize);
        if (!a) FAIL("no room for BAR0 (%lu bytes) in the PCI window", c->barsize);
        u32 cmd = pci_cfg_read(0, d, f, 4);
        pci_cfg_write(0, d, f, 4, cmd & ~3u);
        pci_cfg_write(0, d, f, 0x10, (u32)a | (pci_cfg_read(0, d, f, 0x10) & 0xf));
        if (is64) pci_cfg_write(0, d, f, 0x14, 0);
        pci_cfg_write(0, d, f, 4, cmd);
        c->assigned = 1;
        base = a;
    }
    c->bar = base;
    /* memory decoding, bus mastering; INTx off when MSI-X is used (set below) */
    u32 cmd = pci_cfg_read(0, d, f, 4) & 0xffff;
    pci_cfg_write(0, d, f, 4, cmd | 0x6);
    if (c->bar + c->barsize > kinfo.mapped_top) FAIL("BAR0 0x%lx not mapped", c->bar);

    u32 caplo = rd32(c, 0), caphi = rd32(c, 4);
    if (caplo == 0xffffffffu) FAIL("BAR0 reads all ones at 0x%lx", c->bar);
    c->cap = ((u64)caphi << 32) | caplo;
    c->mqes = caplo & 0xffff;
    c->to_ms = ((caplo >> 24) & 0xff) * 500;
    c->dstrd = caphi & 0xf;
    c->mpsmin = (caphi >> 16) & 0xf;
    c->vs = rd32(c, 8);
    if (c->mpsmin != 0) FAIL("CAP.MPSMIN=%u: the kit needs 4 KiB pages", c->mpsmin);
    if (!((caphi >> 5) & 1)) FAIL("CAP.CSS has no NVM command set (cap=0x%lx)", c->cap);

    /* reset */
    u32 cc = rd32(c, 0x14);
    if (cc & 1) wr32(c, 0x14, cc & ~1u);
    int r = wait_rdy(c, 0);
    if (r) FAIL("CSTS.RDY did not clear (%d) in CAP.TO=%u ms", r, c->to_ms);

    /* admin queues: 32 entries each */
    c->aq.size = 32;
    c->aq.sq = dma_alloc(4096, 4096);
    c->aq.cq = dma_alloc(4096, 4096);
    c->idbuf = dma_alloc(4096, 4096);
    c->scratch = dma_alloc(NVME_SCRATCH, 4096);
    c->list = dma_alloc(4096, 4096);
    if (!c->aq.sq || !c->aq.cq || !c->idbuf || !c->scratch || !c->list) FAIL("out of memory");
    c->aq.phase = 1;
    c->aq.sqdb = c->bar + 0x1000;
    c->aq.cqdb = c->bar + 0x1000 + (4u << c->dstrd);
    wr32(c, 0x24, (31u << 16) | 31u);
    wr32(c, 0x28, (u32)(u64)c->aq.sq); wr32(c, 0x2c, (u32)((u64)c->aq.sq >> 32));
    wr32(c, 0x30, (u32)(u64)c->aq.cq); wr32(c, 0x34, (u32)((u64)c->aq.cq >> 32));

    /* MSI-X: the table may live in BAR0 (QEMU) or in a BAR of its own (Apiary: BAR4), which is then
       sized and, if firmware left it unassigned, placed like BAR0. */
    int mc = pci_find_cap(d, f, 0x11);
    if (mc) {
        u32 v = pci_cfg_read(0, d, f, mc);
        u32 tbl = pci_cfg_read(0, d, f, mc + 4);
        int bir = (int)(tbl & 7);
        c->msix_n = ((v >> 16) & 0x7ff) + 1;
        u64 tbase = 0;
        if (bir == 0) {
            tbase = c->bar;
        } else if (bir <= 5) {
            int is64b;
            u64 bbase, bsz = pci_bar_size(d, f, bir, &bbase, &is64b);
            if (bsz && (!bbase || bbase < kinfo.low_top || bbase < NVME_WIN_LO || bbase + bsz > NVME_WIN_END)) {
                u64 a = pci_bar_alloc(bsz);
                bbase = 0;
                if (a) {
                    u32 cmd = pci_cfg_read(0, d, f, 4);
                    pci_cfg_write(0, d, f, 4, cmd & ~3u);
                    pci_cfg_write(0, d, f, 0x10 + 4 * bir, (u32)a | (pci_cfg_read(0, d, f, 0x10 + 4 * bir) & 0xf));
                    if (is64b) pci_cfg_write(0, d, f, 0x14 + 4 * bir, (u32)(a >> 32));
                    pci_cfg_write(0, d, f, 4, cmd);
                    bbase = a;
                }
            }
            if (bsz && bbase && bbase + bsz <= kinfo.mapped_top) tbase = bbase;
        }
        if (tbase) {
            c->msix_tab = tbase + (tbl & ~7u);
            c->msix_cap = mc;
            c->msix_bir = bir;
        } else c->msix_n = 0;
    }
    c->irq_pin = (pci_cfg_read(0, d, f, 0x3c) >> 8) & 0xff;

    wr32(c, 0x14, (4u << 20) | (6u << 16) | 1u);   /* IOCQES=4 IOSQES=6 MPS=0 CSS=NVM EN */
    r = wait_rdy(c, 1);
    if (r) FAIL("CSTS.RDY did not set (%d, csts=0x%x) in CAP.TO=%u ms", r, rd32(c, 0x1c), c->to_ms);

    /* Identify controller */
    u8 *id = c->idbuf;
    u32 st = admin(c, 0x06, 0, (u64)id, 1, 0, NULL);
    if (st) FAIL("identify controller status 0x%x", st);
    cpystr(c->serial, id + 4, 20);
    cpystr(c->model, id + 24, 40);
    cpystr(c->fw, id + 64, 8);
    c->mdts = id[77];
    c->oacs = *(u16 *)(id + 256);
    c->nn = *(u32 *)(id + 516);
    c->oncs = *(u16 *)(id + 520);
    c->vwc = id[525];
    u64 mx = c->mdts ? (4096ul << c->mdts) : NVME_MAX_XFER;
    c->max_xfer = mx > NVME_MAX_XFER ? NVME_MAX_XFER : (u32)mx;

    /* Identify namespace 1 */
    memset(id, 0, 4096);
    st = admin(c, 0x06, 1, (u64)id, 0, 0, NULL);
    if (st) FAIL("identify namespace 1 status 0x%x", st);
    c->nsze = *(u64 *)id;
    u8 fl = id[26] & 0xf;
    c->lba_shift = id[128 + 4 * fl + 2];
    c->lba_size = 1u << c->lba_shift;
    c->dlfeat = id[33];
    if (c->lba_shift < 9 || c->lba_shift > 12) FAIL("LBA size %u not supported by the kit", c->lba_size);

    /* Number of Queues: one pair per CPU */
    struct cqe cq;
    u32 want = (u32)ncpu;
    st = admin(c, 0x09, 0, 0, 0x07, (want - 1) | ((want - 1) << 16), &cq);
    if (st) FAIL("set features number of queues status 0x%x", st);
    c->nsqa = (cq.dw0 & 0xffff) + 1;
    c->ncqa = (cq.dw0 >> 16) + 1;
    int pairs = ncpu;
    if ((u32)pairs > c->nsqa) pairs = (int)c->nsqa;
    if ((u32)pairs > c->ncqa) pairs = (int)c->ncqa;
    if (c->msix_n && pairs > (int)c->msix_n - 1) pairs = (int)c->msix_n - 1;
    if (c->msix_n && next_vec + pairs + 1 > VEC_DYN_END) FAIL("out of interrupt vectors");

    /* MSI-X: entry 0 = admin CQ -> BSP, entry q = I/O CQ q -> CPU q-1 */
    if (c->msix_n) {
        c->aq_vec = next_vec++;
        msix_set(c, 0, cpu_apic[0], c->aq_vec);
        for (int i = 0; i < pairs; i++) msix_set(c, i + 1, cpu_apic[i], next_vec + (u32)i);
        u32 v = pci_cfg_read(0, d, f, c->msix_cap);
        pci_cfg_write(0, d, f, c->msix_cap, (v & ~(1u << 30)) | (1u << 31));
        pci_cfg_write(0, d, f, 4, (pci_cfg_read(0, d, f, 4) & 0xffff) | 0x6 | (1u << 10));
        c->vectors = pairs + 1;
    }

    /* Shadow doorbells (Doorbell Buffer Config, OACS bit 8) before the I/O queues exist: PRP1 = shadow
       doorbell page, PRP2 = EventIdx page, both zeroed; slots laid out like the doorbell registers
       (SQ tail of queue y at 2y * (4 << DSTRD), CQ head 4 << DSTRD after it).  kit.nvme.dbbuf=no keeps
       plain doorbells. */
    char dv[8] = "";
    opt("kit.nvme.dbbuf=", dv, sizeof dv);
    c->dbbuf = DBBUF_OFF;
    if ((c->oacs & (1u << 8)) && strcmp(dv, "no") && (2u * (u32)(pairs + 1)) << c->dstrd <= 1024) {
        c->dbbuf_shadow = dma_alloc(4096, 4096);
        c->dbbuf_ei = dma_alloc(4096, 4096);
        if (!c->dbbuf_shadow || !c->dbbuf_ei) FAIL("out of memory for the doorbell buffers");
        struct sqe e;
        memset(&e, 0, sizeof e);
        e.opc = 0x7c;
        e.prp1 = (u64)c->dbbuf_shadow;
        e.prp2 = (u64)c->dbbuf_ei;
        st = nvme_sync(&c->aq, &e, NULL, 5000000);
        if (st) {
            c->dbbuf = DBBUF_FAILED;
            if (st == ST_TIMEOUT)
                kprintf("KIT nvme-dbbuf fail doorbell buffer config timed out, plain doorbells ctrl=%d", c->n);
            else
                kprintf("KIT nvme-dbbuf fail doorbell buffer config sct=%u sc=0x%02x, plain doorbells ctrl=%d",
                        (st >> 8) & 7, st & 0xff, c->n);
        } else c->dbbuf = DBBUF_ON;
    }

    /* I/O queue pairs */
    u32 qs = c->mqes + 1 < NVME_IOQ_SIZE ? c->mqes + 1 : NVME_IOQ_SIZE;
    for (int i = 0; i < pairs; i++) {
        struct nq *q = &c->ioq[i];
        q->qid = (u16)(i + 1);
        q->size = (u16)qs;
        q->cq = dma_alloc(qs * 16, 4096);
        q->sq = dma_alloc(qs * 64, 4096);
        if (!q->cq || !q->sq) FAIL("out of memory for queues");
        q->phase = 1;
        q->sqdb = c->bar + 0x1000 + (2u * q->qid) * (4u << c->dstrd);
        q->cqdb = c->bar + 0x1000 + (2u * q->qid + 1) * (4u << c->dstrd);
        q->cpu = (u32)i;
        if (c->dbbuf == DBBUF_ON) {
            u32 sqi = (2u * q->qid) << c->dstrd, cqi = (2u * q->qid + 1) << c->dstrd;
            q->sdb_sq = c->dbbuf_shadow + sqi; q->ei_sq = c->dbbuf_ei + sqi;
            q->sdb_cq = c->dbbuf_shadow + cqi; q->ei_cq = c->dbbuf_ei + cqi;
        }
        u32 cdw11 = 1;                                  /* PC */
        if (c->msix_n) { q->vec = next_vec + (u32)i; cdw11 |= 2u | ((u32)q->qid << 16); }
        st = admin(c, 0x05, 0, (u64)q->cq, q->qid | ((qs - 1) << 16), cdw11, NULL);
        if (st) FAIL("create I/O CQ %u status 0x%x", q->qid, st);
        st = admin(c, 0x01, 0, (u64)q->sq, q->qid | ((qs - 1) << 16), 1u | ((u32)q->qid << 16), NULL);
        if (st) FAIL("create I/O SQ %u status 0x%x", q->qid, st);
    }
    if (c->msix_n) next_vec += (u32)pairs;
    c->pairs = pairs;
    c->ok = 1;
    return 0;
}
#undef FAIL

/* Find and initialise every controller once (markers nvme-ctrl, nvme-ns, nvme-queues). */
int nvme_probe(void)
{
    if (nvme_probed) return nvme_nctrl;
    nvme_probed = 1;
    if (cpus_online == 0 && acpi.madt_found) test_cpus();      /* bring the APs up first */
    int ncpu = cpus_online ? (int)cpus_online : 1;
    if (!cpus_online) cpu_apic[0] = kinfo.bsp_apic_id;
    for (int d = 0; d < 32 && nvme_nctrl < NVME_MAXCTRL; d++) {
        u32 id0 = pci_cfg_read(0, d, 0, 0);
        if ((id0 & 0xffff) == 0xffff) continue;
        int mf = (pci_cfg_read(0, d, 0, 0x0c) >> 23) & 1;
        for (int f = 0; f < (mf ? 8 : 1) && nvme_nctrl < NVME_MAXCTRL; f++) {
            if ((pci_cfg_read(0, d, f, 0) & 0xffff) == 0xffff) continue;
            if ((pci_cfg_read(0, d, f, 8) >> 8) != 0x010802) continue;
            struct nctrl *c = &nvme_ctrls[nvme_nctrl];
            c->n = nvme_nctrl++;
            c->dev = d; c->fn = f;
            if (ctrl_init(c, ncpu)) continue;
            kprintf("KIT nvme-ctrl ok bdf=00:%02x.%x bar0=0x%lx bar0_size=%lu mqes=%u dstrd=%u model=\"%s\" serial=\"%s\" mdts=%u nn=%u oacs=0x%x fw=\"%s\" vs=0x%x to_ms=%u oncs=0x%x vwc=%u bar0_assigned=%s msix_bar=%d ctrl=%d",
                    d, f, c->bar, c->barsize, c->mqes, c->dstrd, c->model, c->serial, c->mdts, c->nn,
                    c->oacs, c->fw, c->vs, c->to_ms, c->oncs, c->vwc & 1, c->assigned ? "kit" : "firmware", c->msix_n ? c->msix_bir : -1, c->n);
            kprintf("KIT nvme-ns ok nsid=1 lbas=%lu lba_size=%u dlfeat=0x%x ctrl=%d", c->nsze, c->lba_size, c->dlfeat, c->n);
            kprintf("KIT nvme-queues ok pairs=%d vectors=%d qsize=%u max_xfer=%u msix_table=%u irq_pin=%d nsqa=%u ncqa=%u dbbuf=%s ctrl=%d",
                    c->pairs, c->vectors, c->ioq[0].size, c->max_xfer, c->msix_n, c->irq_pin, c->nsqa, c->ncqa,
                    nvme_dbbuf_name(c->dbbuf), c->n);
        }
    }
    if (!nvme_nctrl) kprintf("KIT nvme-ctrl fail no NVMe controller (class 01:08:02) on bus 0");
    return nvme_nctrl;
}
