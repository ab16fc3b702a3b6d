/*
 * The `nvme-bench` load generator: sequential 1 MiB reads/writes (split at MDTS, PRP lists) and
 * 4 KiB random reads at queue depth 1 and 32, on one CPU or on every CPU (each on its own queue
 * pair), timed with the TSC.  Completions are polled by default (the MSI-X vector of the queue is
 * masked meanwhile): on this project's hosts an interrupt costs an emulated CPL0 handler plus an
 * emulated hlt wake-up, which no real guest would pay, so polling gives the truest figure for the
 * device model; `kit.nvme.bench_mode=irq` measures the interrupt path instead.
 *
 * Doorbells: the SQ tail is updated once per batch of submissions, the CQ head every qsize/4
 * completions, with plain doorbells and with shadow doorbells alike (kit.nvme.dbbuf), so that the two
 * modes differ only in how an update reaches the device: a doorbell write (an exit) every time, or the
 * shadow buffer plus a doorbell write (a KVM ioeventfd on Apiary) only when EventIdx asks for one.
 */
#include "nvme.h"

enum { W_SEQREAD, W_SEQWRITE, W_RAND1, W_RAND32, W_N };
static const char *const wl_names[W_N] = { "seqread", "seqwrite", "randread1", "randread32" };

#define MAXSLOTS 32
#define MAXSUB   256            /* commands per I/O when MDTS is small */

struct bjob {
    struct nctrl *c;
    int wl, irq;
    u32 qd, sub, xfer, cmdbytes;
    u64 lba0, nlba;             /* region of this CPU */
    u64 tsc_limit, max_ios, warm_tsc;
    u8 *buf;                    /* qd (or fewer, reused) buffers of xfer bytes */
    u32 nbufs;
    u64 *lists;                 /* one PRP list page per (slot, sub) when needed */
    u64 ios, bytes, cmds, tsc;
    u64 rings, shadow;          /* real doorbell writes and shadow doorbell updates of the run */
    u32 err;
    char why[96];
};
static struct bjob bjobs[MAXCPU];

static u64 xorshift(u64 *s) { u64 x = *s; x ^= x << 13; x ^= x >> 7; x ^= x << 17; return *s = x; }

static void bench_run(u32 idx);

/* an untimed warm-up run (first touches of buffers, host page cache), then the measured run */
static void bench_cpu(u32 idx, void *arg)
{
    struct bjob *j = &bjobs[idx];
    u64 lim = j->tsc_limit, mx = j->max_ios;
    if (j->warm_tsc) {
        j->tsc_limit = j->warm_tsc;
        j->max_ios = ~0ul;
        bench_run(idx);
        j->tsc_limit = lim;
        j->max_ios = mx;
        if (j->why[0] || j->err) return;
    }
    bench_run(idx);
}

static void bench_run(u32 idx)
{
    struct bjob *j = &bjobs[idx];
    struct nctrl *c = j->c;
    struct nq *q = &c->ioq[idx];
    u32 bs = c->lba_size, bpi = j->xfer / bs, bpc = j->cmdbytes / bs;
    int rnd = j->wl >= W_RAND1;
    u8 opc = j->wl == W_SEQWRITE ? 0x01 : 0x02;
    u64 units = j->nlba / bpi, seq = 0, seed = 0x9e3779b97f4a7c15ul ^ ((u64)idx << 32) ^ rdtsc();
    u8 left[MAXSLOTS];
    u8 cid_slot[256];
    u32 inflight = 0, stopping = 0, pushed = 0;
    u32 vec = q->vec, msix_entry = q->qid;
    if (vec && !j->irq) nvme_msix_mask(c, (int)msix_entry, 1);
    u32 seen = vec ? kinfo.vec_count[vec] : 0;

    j->ios = j->bytes = j->cmds = 0;
    u64 r0 = q->rings, s0 = q->shadow;
    j->err = 0;
    j->why[0] = 0;
    u64 t0 = rdtsc(), tend = t0 + j->tsc_limit, issued = 0;

#define ISSUE(s) do {                                                                   \
        u64 u = rnd ? xorshift(&seed) % units : seq++ % units;                          \
        u64 lba = j->lba0 + u * bpi;                                                    \
        u64 b = (u64)j->buf + (u64)((s) % j->nbufs) * j->xfer;                          \
        for (u32 k = 0; k < j->sub; k++) {                                              \
            struct sqe e;                                                               \
            memset(&e, 0, sizeof e);                                                    \
            e.opc = opc; e.nsid = 1;                                                    \
            u64 l = lba + (u64)k * bpc;                                                 \
            e.cdw10 = (u32)l; e.cdw11 = (u32)(l >> 32); e.cdw12 = bpc - 1;              \
            nvme_prps(&e, b + (u64)k * j->cmdbytes, j->cmdbytes,                        \
                      j->lists ? j->lists + ((u64)(s) * j->sub + k) * 512 : NULL);      \
            nq_push(q, &e);                                                             \
            cid_slot[e.cid & 255] = (u8)(s);                                            \
        }                                                                               \
        left[s] = (u8)j->sub; inflight++; issued++; pushed = 1;                         \
    } while (0)

    for (u32 s = 0; s < j->qd && issued < j->max_ios; s++) ISSUE(s);
    nq_ring_sq(q);
    pushed = 0;
    while (inflight) {
        struct cqe r;
        int got = 0;
        while (nq_pop(q, &r)) {
            got++;
            j->cmds++;
            u32 st = (r.status >> 1) & 0x7fff;
            if (st && !j->err) { j->err = st; stopping = 1; }
            u32 s = cid_slot[r.cid & 255];
            if (--left[s] == 0) {
                inflight--;
                j->ios++;
                j->bytes += j->xfer;
                if (!stopping) {
                    if (rdtsc() >= tend || issued >= j->max_ios) stopping = 1;
                    else ISSUE(s);
                }
            }
            if (q->unacked >= q->size / 4u) nq_ring_cq(q);
        }
        if (pushed) { nq_ring_sq(q); pushed = 0; }
        if (!got) {
            if (rdtsc() - t0 > j->tsc_limit + 30 * tsc_hz) { snprintf(j->why, sizeof j->why, "%u I/Os did not complete", inflight); break; }
            if (j->irq && vec) {
                if (q->unacked) nq_ring_cq(q);
                wait_change(&kinfo.vec_count[vec], seen, 20000);
                seen = kinfo.vec_count[vec];
            } else cpu_relax();
        }
    }
    j->tsc = rdtsc() - t0;
    if (q->unacked) nq_ring_cq(q);
    j->rings = q->rings - r0;
    j->shadow = q->shadow - s0;
    if (vec && !j->irq) nvme_msix_mask(c, (int)msix_entry, 0);
#undef ISSUE
}

static void fmt_rate(char *out, size_t n, u64 ios, u64 bytes, u64 tsc)
{
    u64 us = tsc * 1000000ul / (tsc_hz ? tsc_hz : 1);
    if (!us) us = 1;
    snprintf(out, n, "iops=%lu mbps=%lu ios=%lu secs=%lu.%03lu", ios * 1000000ul / us,
             bytes * 1000000ul / us >> 20, ios, us / 1000000ul, (us / 1000ul) % 1000ul);
}

void test_nvme_bench(void)
{
    if (!nvme_probe()) return;
    char v[128];
    v[0] = 0; opt("kit.nvme.ctrl=", v, sizeof v);
    int ci = v[0] ? (int)parse_num(v) : 0;
    if (ci >= nvme_nctrl || !nvme_ctrls[ci].ok) { kprintf("KIT nvme-bench fail controller %d not usable", ci); return; }
    struct nctrl *c = &nvme_ctrls[ci];
    char list[128] = "seqread,seqwrite,randread1,randread32";
    opt("kit.nvme.bench=", list, sizeof list);
    v[0] = 0; opt("kit.nvme.bench_secs=", v, sizeof v);
    u64 secs = v[0] ? parse_num(v) : 2;
    v[0] = 0; opt("kit.nvme.bench_warmup_ms=", v, sizeof v);
    u64 warm_ms = v[0] ? parse_num(v) : 250;
    v[0] = 0; opt("kit.nvme.bench_ios=", v, sizeof v);
    u64 max_ios = v[0] ? parse_num(v) : ~0ul;
    v[0] = 0; opt("kit.nvme.bench_seqqd=", v, sizeof v);
    u32 seqqd = v[0] ? (u32)parse_num(v) : 1;
    if (seqqd < 1) seqqd = 1;
    if (seqqd > MAXSLOTS) seqqd = MAXSLOTS;
    char mode[8] = "poll";
    opt("kit.nvme.bench_mode=", mode, sizeof mode);
    int irq = !strcmp(mode, "irq");
    char cpus_s[8] = "1";
    opt("kit.nvme.bench_cpus=", cpus_s, sizeof cpus_s);
    int ncpu = !strcmp(cpus_s, "all") ? c->pairs : (int)parse_num(cpus_s);
    if (ncpu < 1) ncpu = 1;
    if (ncpu > c->pairs) ncpu = c->pairs;
    u64 rlba = 0, rcount = c->nsze;
    v[0] = 0; opt("kit.nvme.bench_region=", v, sizeof v);
    if (v[0]) {
        rlba = parse_num(v);
        const char *p = v;
        while (*p && *p != ',') p++;
        rcount = *p ? parse_num(p + 1) : c->nsze - rlba;
    }
    if (rlba >= c->nsze || rcount > c->nsze - rlba || !rcount) { kprintf("KIT nvme-bench fail region %lu,%lu outside the namespace", rlba, rcount); return; }

    /* buffers and PRP lists, per CPU, sized for the largest workload */
    u32 seqcmd = c->max_xfer < (1u << 20) ? c->max_xfer : (1u << 20);
    u32 seqsub = (1u << 20) / seqcmd;
    u32 qs = c->ioq[0].size;
    if (seqsub * seqqd + qs / 4 >= qs || 32 + qs / 4 >= qs) { kprintf("KIT nvme-bench fail queue size %u too small for %u commands in flight", qs, seqsub * seqqd > 32 ? seqsub * seqqd : 32); return; }
    if (seqsub * seqqd > 128) { kprintf("KIT nvme-bench fail max_xfer=%u too small for 1 MiB I/O at qd %u", c->max_xfer, seqqd); return; }
    static u8 *bufs[MAXCPU];
    static u64 *lists[MAXCPU];
    static u32 nbufs[MAXCPU];
    for (int i = 0; i < ncpu; i++) {
        if (bufs[i]) continue;
        nbufs[i] = seqqd < 4 ? seqqd : 4;                       /* 1 MiB each, reused beyond 4 */
        bufs[i] = dma_alloc((u64)nbufs[i] << 20, 1 << 20);
        lists[i] = seqsub > 1 || seqcmd > 8192 ? dma_alloc((u64)seqqd * seqsub * 4096, 4096) : NULL;
        if (!bufs[i] || (seqcmd > 8192 && !lists[i])) { kprintf("KIT nvme-bench fail out of memory (cpu %d)", i); return; }
    }

    const char *p = list;
    while (*p) {
        char name[32];
        size_t n = 0;
        while (*p && *p != ',') { if (n + 1 < sizeof name) name[n++] = *p; p++; }
        name[n] = 0;
        if (*p == ',') p++;
        if (!n) continue;
        int wl;
        for (wl = 0; wl < W_N; wl++) if (!strcmp(name, wl_names[wl])) break;
        if (wl == W_N) { kprintf("KIT nvme-bench %s fail unknown workload", name); continue; }
        for (int i = 0; i < ncpu; i++) {
            struct bjob *j = &bjobs[i];
            memset(j, 0, sizeof *j);
            j->c = c; j->wl = wl; j->irq = irq;
            j->tsc_limit = secs * tsc_hz;
            j->warm_tsc = warm_ms * (tsc_hz / 1000);
            j->max_ios = max_ios;
            if (wl <= W_SEQWRITE) {
                j->xfer = 1u << 20; j->cmdbytes = seqcmd; j->sub = seqsub; j->qd = seqqd;
                j->buf = bufs[i]; j->nbufs = nbufs[i]; j->lists = lists[i];
                u64 slice = rcount / (u64)ncpu;                 /* sequential: a slice per CPU */
                j->lba0 = rlba + slice * (u64)i; j->nlba = slice;
            } else {
                j->xfer = 4096; j->cmdbytes = 4096; j->sub = 1; j->qd = wl == W_RAND1 ? 1 : 32;
                j->buf = bufs[i]; j->nbufs = 32; j->lists = NULL;
                j->lba0 = rlba; j->nlba = rcount;
            }
            if (j->nlba < j->xfer / c->lba_size) { kprintf("KIT nvme-bench %s fail region too small", name); return; }
        }
        for (int i = 1; i < ncpu; i++) cpu_post((u32)i, bench_cpu, NULL);
        bench_cpu(0, NULL);
        for (int i = 1; i < ncpu; i++)
            if (!cpu_wait((u32)i, (secs + 60) * 1000000ul)) snprintf(bjobs[i].why, sizeof bjobs[i].why, "cpu %d did not finish", i);
        u64 ios = 0, bytes = 0, tsc = 0, cmds = 0, rings = 0, shadow = 0;
        const char *why = NULL;
        u32 err = 0;
        char r[128];
        for (int i = 0; i < ncpu; i++) {
            struct bjob *j = &bjobs[i];
            ios += j->ios; bytes += j->bytes; cmds += j->cmds; rings += j->rings; shadow += j->shadow;
            if (j->tsc > tsc) tsc = j->tsc;
            if (j->why[0] && !why) why = j->why;
            if (j->err && !err) err = j->err;
            if (ncpu > 1) {
                fmt_rate(r, sizeof r, j->ios, j->bytes, j->tsc);
                kprintf("KIT nvme-bench-cpu %s cpu=%d %s rings=%lu shadow=%lu", name, i, r, j->rings, j->shadow);
            }
        }
        fmt_rate(r, sizeof r, ios, bytes, tsc);
        if (why) kprintf("KIT nvme-bench %s fail %s %s", name, why, r);
        else if (err) kprintf("KIT nvme-bench %s fail status sct=%u sc=0x%02x %s", name, (err >> 8) & 7, err & 0xff, r);
        else kprintf("KIT nvme-bench %s ok %s qd=%u xfer=%u cmds=%lu cpus=%d mode=%s rings=%lu shadow=%lu dbbuf=%s ctrl=%d",
                     name, r, bjobs[0].qd, bjobs[0].xfer, cmds, ncpu, irq ? "irq" : "poll", rings, shadow,
                     nvme_dbbuf_name(c->dbbuf), c->n);
    }
}
