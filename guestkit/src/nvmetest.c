/* The `nvme` test: per-CPU interrupt-driven I/O, write/read/trim/flush checks, hostile commands. */
#include "nvme.h"

#define TMO     5000000ul       /* normal commands */
#define HTMO    3000000ul       /* hostile commands */

static int range_opt(const char *key, u64 *lba, u64 *count)
{
    char v[64] = "";
    opt(key, v, sizeof v);
    if (!v[0]) return 0;
    *lba = parse_num(v);
    const char *p = v;
    while (*p && *p != ',') p++;
    *count = *p ? parse_num(p + 1) : 1;
    return 1;
}

/* "APIARY-KIT-LBA-%08x" repeated over the block (the host-side test builds the same bytes) */
static void fill_lba(u8 *b, u32 size, u64 lba)
{
    char s[24];
    snprintf(s, sizeof s, "APIARY-KIT-LBA-%08x", (u32)lba);
    for (u32 i = 0; i < size; i++) b[i] = (u8)s[i % 23];
}

static const char *stname(u32 st, char *buf, size_t n)
{
    if (st == ST_TIMEOUT) snprintf(buf, n, "timeout");
    else snprintf(buf, n, "sct=%u sc=0x%02x", (st >> 8) & 7, st & 0xff);
    return buf;
}

/* ---- per-CPU I/O on the CPU's own queue pair --------------------------------------------------- */

struct io_job {
    struct nctrl *c;
    u64 lba;                    /* 8 LBAs from here belong to this CPU */
    u8 *buf[3];
    u64 *list;
    u32 writes, reads, irqs;
    char why[120];
};
static struct io_job io_jobs[MAXCPU];

static void io_cpu(u32 idx, void *arg)
{
    struct io_job *j = &io_jobs[idx];
    struct nctrl *c = j->c;
    struct nq *q = &c->ioq[idx];
    u32 bs = c->lba_size, v0 = q->vec ? kinfo.vec_count[q->vec] : 0;
    char sb[32];
    j->why[0] = 0;
    u64 r0 = q->rings, s0 = q->shadow;
    for (u32 k = 0; k < 8 && !j->why[0]; k++) {
        u64 l = j->lba + k;
        u32 st = nvme_rw(c, q, 0x02, l, 1, j->buf[0], j->list, TMO);           /* keep the old data */
        j->reads++;
        if (st) { snprintf(j->why, sizeof j->why, "read lba=%lu %s", l, stname(st, sb, sizeof sb)); break; }
        char s[40];
        snprintf(s, sizeof s, "APIARY-KIT-CPU%02u-%08x-", idx, (u32)l);
        for (u32 i = 0; i < bs; i++) j->buf[1][i] = (u8)s[i % 24];
        st = nvme_rw(c, q, 0x01, l, 1, j->buf[1], j->list, TMO);
        j->writes++;
        if (st) { snprintf(j->why, sizeof j->why, "write lba=%lu %s", l, stname(st, sb, sizeof sb)); break; }
        memset(j->buf[2], 0, bs);
        st = nvme_rw(c, q, 0x02, l, 1, j->buf[2], j->list, TMO);
        j->reads++;
        if (st) { snprintf(j->why, sizeof j->why, "read-back lba=%lu %s", l, stname(st, sb, sizeof sb)); break; }
        if (memcmp(j->buf[1], j->buf[2], bs)) { snprintf(j->why, sizeof j->why, "lba=%lu read back differs", l); break; }
        st = nvme_rw(c, q, 0x01, l, 1, j->buf[0], j->list, TMO);                /* restore */
        j->writes++;
        if (st) { snprintf(j->why, sizeof j->why, "restore lba=%lu %s", l, stname(st, sb, sizeof sb)); break; }
    }
    j->irqs = q->vec ? kinfo.vec_count[q->vec] - v0 : 0;
    u64 rings = q->rings - r0, shadow = q->shadow - s0;
    if (j->why[0])
        kprintf("KIT nvme-io fail cpu=%u %s writes=%u reads=%u irqs=%u rings=%lu shadow=%lu ctrl=%d", idx, j->why, j->writes, j->reads, j->irqs, rings, shadow, c->n);
    else if (q->vec && j->irqs == 0)
        kprintf("KIT nvme-io fail cpu=%u no interrupts on vector 0x%x writes=%u reads=%u irqs=0 rings=%lu shadow=%lu ctrl=%d", idx, q->vec, j->writes, j->reads, rings, shadow, c->n);
    else
        kprintf("KIT nvme-io ok cpu=%u writes=%u reads=%u irqs=%u qid=%u apic=%u vector=0x%x rings=%lu shadow=%lu ctrl=%d",
                idx, j->writes, j->reads, j->irqs, q->qid, cpu_apic[idx], q->vec, rings, shadow, c->n);
}

static void check_io(struct nctrl *c)
{
    char v[32] = "";
    opt("kit.nvme.io=", v, sizeof v);
    u64 need = 8ul * (u64)c->pairs;
    u64 base = v[0] ? parse_num(v) : (c->nsze > need ? c->nsze - need : 0);
    if (base + need > c->nsze) { kprintf("KIT nvme-io fail namespace too small (%lu LBAs) ctrl=%d", c->nsze, c->n); return; }
    for (int i = 0; i < c->pairs; i++) {
        struct io_job *j = &io_jobs[i];
        memset(j, 0, sizeof *j);
        j->c = c;
        j->lba = base + 8ul * (u64)i;
        for (int b = 0; b < 3; b++) j->buf[b] = dma_alloc(4096, 4096);
        j->list = dma_alloc(4096, 4096);
        if (!j->buf[2] || !j->list) { kprintf("KIT nvme-io fail out of memory ctrl=%d", c->n); return; }
    }
    for (int i = 1; i < c->pairs; i++)
        if (cpu_post((u32)i, io_cpu, NULL)) kprintf("KIT nvme-io fail cpu=%d not online ctrl=%d", i, c->n);
    io_cpu(0, NULL);
    for (int i = 1; i < c->pairs; i++)
        if (!cpu_wait((u32)i, 60000000)) kprintf("KIT nvme-io fail cpu=%d did not finish ctrl=%d", i, c->n);
}

/* ---- doorbell burst: EventIdx at work ----------------------------------------------------------- */

/* On the BSP's queue: one large read (max_xfer, at most 1 MiB) that keeps the device busy for a while,
   then 15 one-LBA reads, each published on its own (one SQ tail update per command, as a driver without
   batching does); then the completions are reaped together.  With plain doorbells every update is a
   doorbell write; with shadow doorbells the first one rings the idle device and the others normally do
   not: the device is still on the large read, so its EventIdx lies before them, and it finds them in
   the shadow tail when it gets there.  Every command must complete either way. */
static void check_burst(struct nctrl *c)
{
    static u8 *bbuf;
    struct nq *q = &c->ioq[0];
    u32 n = 16, bs = c->lba_size, big = c->max_xfer;
    if (n > q->size - 1u) n = q->size - 1u;
    if ((u64)big / bs + n > c->nsze) { kprintf("KIT nvme-burst skip namespace too small ctrl=%d", c->n); return; }
    if (!bbuf) bbuf = dma_alloc(NVME_MAX_XFER + 16 * 4096, 4096);
    if (!bbuf) { kprintf("KIT nvme-burst fail out of memory ctrl=%d", c->n); return; }
    u64 r0 = q->rings, s0 = q->shadow;
    u16 cid0 = q->cid;
    for (u32 k = 0; k < n; k++) {
        struct sqe e;
        memset(&e, 0, sizeof e);
        e.opc = 0x02; e.nsid = 1;
        u32 len = k ? bs : big;
        nvme_prps(&e, (u64)bbuf + (k ? NVME_MAX_XFER + 4096ul * k : 0), len, c->list);
        e.cdw10 = k ? big / bs + k : 0;
        e.cdw12 = len / bs - 1;
        nq_push(q, &e);
        nq_ring_sq(q);
    }
    u64 rings = q->rings - r0, shadow = q->shadow - s0;
    u32 got = 0, err = 0;
    u64 end = now_us() + TMO;
    while (got < n && now_us() < end) {
        struct cqe r;
        if (!nq_pop(q, &r)) { cpu_relax(); continue; }
        if ((u16)(r.cid - cid0) >= n) continue;         /* not ours */
        got++;
        u32 st = (r.status >> 1) & 0x7fff;
        if (st && !err) err = st;
    }
    if (q->unacked) nq_ring_cq(q);
    char sb[32];
    if (got < n)
        kprintf("KIT nvme-burst fail %u of %u commands completed cmds=%u rings=%lu shadow=%lu dbbuf=%s ctrl=%d",
                got, n, n, rings, shadow, nvme_dbbuf_name(c->dbbuf), c->n);
    else if (err)
        kprintf("KIT nvme-burst fail status %s cmds=%u rings=%lu shadow=%lu dbbuf=%s ctrl=%d",
                stname(err, sb, sizeof sb), n, rings, shadow, nvme_dbbuf_name(c->dbbuf), c->n);
    else
        kprintf("KIT nvme-burst ok cmds=%u rings=%lu shadow=%lu dbbuf=%s ctrl=%d",
                n, rings, shadow, nvme_dbbuf_name(c->dbbuf), c->n);
}

/* ---- write / read / trim / flush -------------------------------------------------------------- */

static u32 flush(struct nctrl *c)
{
    struct sqe e;
    memset(&e, 0, sizeof e);
    e.opc = 0x00;
    e.nsid = 1;
    return nvme_sync(&c->ioq[0], &e, NULL, TMO);
}

/* read [lba, lba+count) in chunks; crc32 over all of it; first 16 bytes; all-zero flag; optional
   comparison with the write pattern */
static u32 read_range(struct nctrl *c, u64 lba, u64 count, u32 *crc, u8 *first, int *zero, int *pattern_ok, u64 *bad)
{
    u32 bs = c->lba_size, per = (c->max_xfer < NVME_SCRATCH ? c->max_xfer : NVME_SCRATCH) / bs;
    u8 *pat = c->idbuf;
    *crc = 0; *zero = 1; *pattern_ok = 1;
    for (u64 done = 0; done < count; ) {
        u32 n = count - done < per ? (u32)(count - done) : per;
        u32 st = nvme_rw(c, &c->ioq[0], 0x02, lba + done, n, c->scratch, c->list, TMO);
        if (st) { *bad = lba + done; return st; }
        if (!done) memcpy(first, c->scratch, 16);
        *crc = crc32_update(*crc, c->scratch, (u64)n * bs);
        for (u64 i = 0; i < (u64)n * bs && *zero; i++) if (c->scratch[i]) *zero = 0;
        for (u32 b = 0; b < n && *pattern_ok; b++) {
            fill_lba(pat, bs, lba + done + b);
            if (memcmp(pat, c->scratch + (u64)b * bs, bs)) { *pattern_ok = 0; *bad = lba + done + b; }
        }
        done += n;
    }
    return 0;
}

static void fmt_first(char *out, size_t n, const u8 *f)
{
    int pr = 1;
    for (int i = 0; i < 16; i++) if (f[i] < 0x20 || f[i] >= 0x7f || f[i] == '"' || f[i] == '\\') pr = 0;
    if (pr) { snprintf(out, n, "first=\"%c%c%c%c%c%c%c%c%c%c%c%c%c%c%c%c\"", f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7],
                       f[8], f[9], f[10], f[11], f[12], f[13], f[14], f[15]); return; }
    size_t p = (size_t)snprintf(out, n, "first=0x");
    for (int i = 0; i < 16 && p + 3 < n; i++) p += (size_t)snprintf(out + p, n - p, "%02x", f[i]);
}

static int check_range(struct nctrl *c, const char *what, u64 lba, u64 count)
{
    if (!count || lba + count > c->nsze || lba + count < lba) {
        kprintf("KIT nvme-%s fail lba=%lu count=%lu outside the namespace (%lu LBAs) ctrl=%d", what, lba, count, c->nsze, c->n);
        return 0;
    }
    return 1;
}

static void check_write(struct nctrl *c, u64 lba, u64 count)
{
    if (!check_range(c, "write", lba, count)) return;
    u32 bs = c->lba_size, per = (c->max_xfer < NVME_SCRATCH ? c->max_xfer : NVME_SCRATCH) / bs;
    char sb[32];
    u32 wcrc = 0;
    for (u64 done = 0; done < count; ) {
        u32 n = count - done < per ? (u32)(count - done) : per;
        for (u32 b = 0; b < n; b++) fill_lba(c->scratch + (u64)b * bs, bs, lba + done + b);
        wcrc = crc32_update(wcrc, c->scratch, (u64)n * bs);
        u32 st = nvme_rw(c, &c->ioq[0], 0x01, lba + done, n, c->scratch, c->list, TMO);
        if (st) { kprintf("KIT nvme-write fail lba=%lu count=%lu at lba %lu %s ctrl=%d", lba, count, lba + done, stname(st, sb, sizeof sb), c->n); return; }
        done += n;
    }
    u32 st = flush(c);
    if (st) { kprintf("KIT nvme-write fail lba=%lu count=%lu flush %s ctrl=%d", lba, count, stname(st, sb, sizeof sb), c->n); return; }
    u32 crc; u8 first[16]; int zero, pok; u64 bad = 0;
    st = read_range(c, lba, count, &crc, first, &zero, &pok, &bad);
    if (st) { kprintf("KIT nvme-write fail lba=%lu count=%lu read-back at %lu %s ctrl=%d", lba, count, bad, stname(st, sb, sizeof sb), c->n); return; }
    if (!pok || crc != wcrc) { kprintf("KIT nvme-write fail lba=%lu count=%lu read-back differs at lba %lu ctrl=%d", lba, count, bad, c->n); return; }
    kprintf("KIT nvme-write ok lba=%lu count=%lu crc32=0x%08x flushed=yes verified=yes ctrl=%d", lba, count, wcrc, c->n);
}

static void check_read(struct nctrl *c, u64 lba, u64 count)
{
    if (!check_range(c, "read", lba, count)) return;
    char sb[32], fb[48];
    u32 crc; u8 first[16]; int zero, pok; u64 bad = 0;
    u32 st = read_range(c, lba, count, &crc, first, &zero, &pok, &bad);
    if (st) { kprintf("KIT nvme-read fail lba=%lu count=%lu at lba %lu %s ctrl=%d", lba, count, bad, stname(st, sb, sizeof sb), c->n); return; }
    fmt_first(fb, sizeof fb, first);
    kprintf("KIT nvme-read ok lba=%lu count=%lu crc32=0x%08x %s zeros=%s pattern=%s ctrl=%d", lba, count, crc, fb,
            zero ? "yes" : "no", pok ? "yes" : "no", c->n);
}

static void check_trim(struct nctrl *c, u64 lba, u64 count)
{
    if (!check_range(c, "trim", lba, count)) return;
    if (!(c->oncs & 4)) { kprintf("KIT nvme-trim skip dataset management not supported (oncs=0x%x) ctrl=%d", c->oncs, c->n); return; }
    char sb[32];
    u32 *r = (u32 *)c->idbuf;
    memset(r, 0, 4096);
    u32 nr = 0;
    for (u64 done = 0; done < count && nr < 256; nr++) {       /* ranges of at most 2^32-1 blocks */
        u64 n = count - done > 0xfffffffful ? 0xfffffffful : count - done;
        r[4 * nr + 1] = (u32)n;
        *(u64 *)&r[4 * nr + 2] = lba + done;
        done += n;
    }
    struct sqe e;
    memset(&e, 0, sizeof e);
    e.opc = 0x09; e.nsid = 1; e.prp1 = (u64)r;
    e.cdw10 = nr - 1;
    e.cdw11 = 1u << 2;                                          /* AD: deallocate */
    u32 st = nvme_sync(&c->ioq[0], &e, NULL, TMO);
    if (st) { kprintf("KIT nvme-trim fail lba=%lu count=%lu dsm %s ctrl=%d", lba, count, stname(st, sb, sizeof sb), c->n); return; }
    u32 crc; u8 first[16]; int zero, pok; u64 bad = 0;
    st = read_range(c, lba, count, &crc, first, &zero, &pok, &bad);
    if (st) { kprintf("KIT nvme-trim fail lba=%lu count=%lu read-back %s ctrl=%d", lba, count, stname(st, sb, sizeof sb), c->n); return; }
    kprintf("KIT nvme-trim ok lba=%lu count=%lu zeros=%s crc32=0x%08x dlfeat=0x%x ctrl=%d", lba, count, zero ? "yes" : "no", crc, c->dlfeat, c->n);
}

/* ---- hostile commands ------------------------------------------------------------------------- */

static int h_ok, h_fail;

/* expect: list of acceptable (sct << 8 | sc); any = any error */
static void hostile_report(struct nctrl *c, const char *name, u32 st, const u32 *want, int nwant, int any)
{
    char sb[32];
    int ok = 0;
    if (st != ST_TIMEOUT) {
        if (any) ok = (st & 0x7ff) != 0;
        for (int i = 0; i < nwant; i++) if ((st & 0x7ff) == want[i]) ok = 1;
    }
    if (ok) { h_ok++; kprintf("KIT nvme-hostile ok %s %s ctrl=%d", name, stname(st, sb, sizeof sb), c->n); return; }
    char wb[64]; size_t p = 0;
    wb[0] = 0;
    if (any) p += (size_t)snprintf(wb, sizeof wb, "any-error");
    for (int i = 0; i < nwant && p < sizeof wb; i++)
        p += (size_t)snprintf(wb + p, sizeof wb - p, "%ssct=%u sc=0x%02x", p ? "|" : "", want[i] >> 8, want[i] & 0xff);
    h_fail++;
    kprintf("KIT nvme-hostile fail %s expected %s got %s ctrl=%d", name, wb, stname(st, sb, sizeof sb), c->n);
}

static u32 raw_read(struct nctrl *c, u64 lba, u32 nblk, u64 prp1, u64 prp2)
{
    struct sqe e;
    memset(&e, 0, sizeof e);
    e.opc = 0x02; e.nsid = 1; e.prp1 = prp1; e.prp2 = prp2;
    e.cdw10 = (u32)lba; e.cdw11 = (u32)(lba >> 32); e.cdw12 = nblk - 1;
    return nvme_sync(&c->ioq[0], &e, NULL, HTMO);
}

static u32 create_cq(struct nctrl *c, u32 qid, u32 qsize_field, u64 mem)
{
    struct sqe e;
    memset(&e, 0, sizeof e);
    e.opc = 0x05; e.prp1 = mem;
    e.cdw10 = qid | (qsize_field << 16);
    e.cdw11 = 1;                                /* PC, no interrupts */
    u32 st = nvme_sync(&c->aq, &e, NULL, HTMO);
    if (st == 0 && qid) {                       /* accepted: take it away again */
        memset(&e, 0, sizeof e);
        e.opc = 0x04; e.cdw10 = qid;
        nvme_sync(&c->aq, &e, NULL, HTMO);
    }
    return st;
}

static void check_hostile(struct nctrl *c)
{
    const u32 dte[] = { 0x04 }, lbar[] = { 0x80 }, prpoff[] = { 0x13, 0x02 }, inv_op[] = { 0x01 },
              inv_field[] = { 0x02 }, inv_qid[] = { 0x101 }, inv_qsize[] = { 0x102 };
    u32 bs = c->lba_size, pg = 4096 / bs;
    u8 *buf = c->scratch;                       /* 256 KiB */
    u64 *l = c->list;
    h_ok = h_fail = 0;

    /* PRP1 in the MMIO hole and above the top of RAM */
    hostile_report(c, "prp-mmio", raw_read(c, 0, 1, 0xf0000000ul, 0), dte, 1, 0);
    const struct e820_entry *e8 = (const struct e820_entry *)(bootparams + BP_E820_TABLE);
    u64 top = 0;
    for (int i = 0; i < BP8(bootparams, BP_E820_ENTRIES) && i < E820_MAX; i++)
        if (e8[i].type == 1 && e8[i].addr + e8[i].size > top) top = e8[i].addr + e8[i].size;
    u64 above = ((top > (4ul << 30) ? top : (4ul << 30)) + (1ul << 30)) & ~0xffful;
    hostile_report(c, "prp-above-ram", raw_read(c, 0, 1, above, 0), dte, 1, 0);

    /* LBA past the end */
    hostile_report(c, "lba-range", raw_read(c, c->nsze, 1, (u64)buf, 0), lbar, 1, 0);
    hostile_report(c, "lba-range-span", raw_read(c, c->nsze - 1, 2, (u64)buf, 0), lbar, 1, 0);

    /* PRP2 (second page) not page aligned; PRP list entry not page aligned */
    hostile_report(c, "prp2-offset", raw_read(c, 0, 2 * pg, (u64)buf, (u64)buf + 4096 + 0x200), prpoff, 2, 0);
    memset(l, 0, 4096);
    l[0] = (u64)buf + 4096;
    l[1] = (u64)buf + 8192 + 0x200;
    hostile_report(c, "prp-list-offset", raw_read(c, 0, 3 * pg, (u64)buf, (u64)l), prpoff, 2, 0);

    /* a PRP list that points at itself: the list pointer sits at the last entry of its page, so
       that entry is a chain pointer (spec 1.4 4.3) -- and it chains to itself */
    u64 *loop = (u64 *)(buf + 64 * 1024);
    memset(loop, 0, 8192);
    loop[511] = (u64)&loop[511];
    hostile_report(c, "prp-loop", raw_read(c, 0, 3 * pg, (u64)buf, (u64)&loop[511]), NULL, 0, 1);

    /* unknown opcodes */
    struct sqe e;
    memset(&e, 0, sizeof e);
    e.opc = 0x7f; e.nsid = 1; e.prp1 = (u64)buf;
    hostile_report(c, "io-opcode", nvme_sync(&c->ioq[0], &e, NULL, HTMO), inv_op, 1, 0);
    memset(&e, 0, sizeof e);
    e.opc = 0x3f; e.prp1 = (u64)buf;
    hostile_report(c, "admin-opcode", nvme_sync(&c->aq, &e, NULL, HTMO), inv_op, 1, 0);

    /* Create I/O CQ: bad queue ids, bad sizes */
    u64 qmem = (u64)buf + 128 * 1024;           /* 64 KiB: room for MQES+2 entries up to 4096 */
    hostile_report(c, "cq-qid0", create_cq(c, 0, 15, qmem), inv_qid, 1, 0);
    hostile_report(c, "cq-qid-range", create_cq(c, c->ncqa + 1, 15, qmem), inv_qid, 1, 0);
    u32 spare = (u32)c->pairs + 1;
    if (spare > c->ncqa) {
        kprintf("KIT nvme-hostile skip cq-size0 no spare queue id ctrl=%d", c->n);
        kprintf("KIT nvme-hostile skip cq-size-max no spare queue id ctrl=%d", c->n);
    } else {
        hostile_report(c, "cq-size0", create_cq(c, spare, 0, qmem), inv_qsize, 1, 0);
        if (c->mqes >= 0xffff || (c->mqes + 2) * 16ul > 64 * 1024)
            kprintf("KIT nvme-hostile skip cq-size-max mqes=%u ctrl=%d", c->mqes, c->n);
        else
            hostile_report(c, "cq-size-max", create_cq(c, spare, c->mqes + 1, qmem), inv_qsize, 1, 0);
    }

    /* a read one block larger than MDTS allows (PRP list of valid pages, all the same one) */
    if (!c->mdts || (4096ul << c->mdts) > 1024 * 1024) {
        kprintf("KIT nvme-hostile skip mdts mdts=%u ctrl=%d", c->mdts, c->n);
    } else {
        u32 nblk = (u32)((4096ul << c->mdts) / bs) + 1;
        memset(l, 0, 4096);
        for (int i = 0; i < 512; i++) l[i] = (u64)buf;
        hostile_report(c, "mdts", raw_read(c, 0, nblk, (u64)buf, (u64)l), inv_field, 1, 0);
    }
    kprintf("KIT nvme-hostile-summary passed=%d failed=%d ctrl=%d", h_ok, h_fail, c->n);
}

void test_nvme(void)
{
    if (!nvme_probe()) return;
    u64 lba, count;
    for (int i = 0; i < nvme_nctrl; i++) {
        struct nctrl *c = &nvme_ctrls[i];
        if (!c->ok || !c->pairs) continue;
        check_io(c);
        check_burst(c);
        if (range_opt("kit.nvme.write=", &lba, &count)) check_write(c, lba, count);
        if (!range_opt("kit.nvme.read=", &lba, &count)) { lba = 0; count = 8; }
        check_read(c, lba, count);
        if (range_opt("kit.nvme.trim=", &lba, &count)) check_trim(c, lba, count);
        char sb[32];
        u32 st = flush(c);
        if (st) kprintf("KIT nvme-flush fail %s ctrl=%d", stname(st, sb, sizeof sb), c->n);
        else kprintf("KIT nvme-flush ok vwc=%u ctrl=%d", c->vwc & 1, c->n);
        char h[8] = "yes";
        opt("kit.nvme.hostile=", h, sizeof h);
        if (strcmp(h, "no")) check_hostile(c);
    }
}
