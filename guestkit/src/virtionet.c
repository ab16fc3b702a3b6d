/*
 * virtio-net driver (virtio 1.2 §4.1 modern PCI transport, §5.1 network device) and a tiny responder, at
 * CPL3: ARP replies, ICMP echo replies and UDP echo (port 7) for the address in kit.net.ip=, until the host
 * sends the UDP datagram "stop" or kit.net.time= seconds (default 60) pass.  One receive and one transmit
 * queue, MSI-X (one vector per queue plus configuration), event index, indirect descriptors for transmit,
 * mergeable receive buffers, and the control queue to turn promiscuous mode off and load an empty MAC
 * filter, so that the device's filtering is what the host's traffic goes through.
 * Marker: KIT net ok mac=... ip=... rx=... tx=... arp=... icmp=... udp=... irqs=... stop=yes|timeout
 */
#include "kit.h"
#include "nvme.h"

#define VN_QSZ      64
#define VN_BUF      2048
#define VN_HDR      12
#define VEC_RX      0xe0
#define VEC_TX      0xe1
#define VEC_CTRL    0xe2
#define VEC_CFG     0xe3

#define F_CSUM          0
#define F_MAC           5
#define F_MRG_RXBUF     15
#define F_STATUS        16
#define F_CTRL_VQ       17
#define F_CTRL_RX       18
#define F_INDIRECT      28
#define F_EVENT_IDX     29
#define F_VERSION_1     32

struct vdesc { u64 addr; u32 len; u16 flags; u16 next; } PACKED;
struct vq {
    u16 size, idx, last_used, avail_idx, notify_old;
    struct vdesc *desc;
    volatile u16 *avail;        /* flags, idx, ring[size], used_event */
    volatile u8 *used;          /* flags, idx, ring[size] of {u32 id, u32 len}, avail_event */
    u64 notify;
};

static u64 common, isr_addr, devcfg, notify_base;
static u32 notify_mult;
static int event_idx;
static struct vq rxq, txq, ctq;
static u8 *rxbuf, *txbuf, *ctbuf;
static struct vdesc *txtab;
static u8 mac[6];
static u32 myip;
static u64 n_rx, n_tx, n_arp, n_icmp, n_udp, n_bad;
static int stop;

static inline u8 r8(u64 a) { return *(volatile u8 *)a; }
static inline u16 r16(u64 a) { return *(volatile u16 *)a; }
static inline void w8(u64 a, u8 v) { barrier(); *(volatile u8 *)a = v; }
static inline void w16(u64 a, u16 v) { barrier(); *(volatile u16 *)a = v; }

static u16 used_idx(struct vq *q) { return *(volatile u16 *)(q->used + 2); }
static u32 used_id(struct vq *q, u16 i) { return *(volatile u32 *)(q->used + 4 + 8 * (i % q->size)); }
static u32 used_len(struct vq *q, u16 i) { return *(volatile u32 *)(q->used + 8 + 8 * (i % q->size)); }

static void vq_offer(struct vq *q, u16 head)
{
    q->avail[2 + (q->avail_idx % q->size)] = head;
    __asm__ volatile("sfence" ::: "memory");
    q->avail[1] = ++q->avail_idx;
}

static void vq_kick(struct vq *q)
{
    __asm__ volatile("mfence" ::: "memory");
    u16 old = q->notify_old, now = q->avail_idx;
    q->notify_old = now;
    if (event_idx) {
        u16 ev = *(volatile u16 *)(q->used + 4 + 8 * q->size);
        if (!nvme_need_event(ev, now, old)) return;
    } else if (*(volatile u16 *)q->used & 1) return;
    w16(q->notify, q->idx);
}

/* After consuming used entries: ask for an interrupt at the next one (event index). */
static void vq_rearm(struct vq *q)
{
    if (event_idx) q->avail[2 + q->size] = q->last_used;
    __asm__ volatile("mfence" ::: "memory");
}

static int vq_setup(int d, int f, u64 msix_tab, struct vq *q, u16 idx, u32 vec)
{
    w16(common + 0x16, idx);
    u16 max = r16(common + 0x18);
    if (!max) return -1;
    q->idx = idx;
    q->size = max < VN_QSZ ? max : VN_QSZ;
    q->desc = dma_alloc(4096, 4096);
    q->avail = dma_alloc(4096, 4096);
    q->used = dma_alloc(4096, 4096);
    if (!q->desc || !q->avail || !q->used) return -2;
    w16(common + 0x18, q->size);
    if (msix_tab) {
        u64 t = msix_tab + 16ul * idx;
        mmio_write32(t + 0, 0xfee00000u | (cpu_apic[0] << 12));
        mmio_write32(t + 4, 0);
        mmio_write32(t + 8, vec);
        mmio_write32(t + 12, 0);
        w16(common + 0x1a, idx);
        if (r16(common + 0x1a) != idx) return -3;
    }
    mmio_write32(common + 0x20, (u32)(u64)q->desc); mmio_write32(common + 0x24, (u32)((u64)q->desc >> 32));
    mmio_write32(common + 0x28, (u32)(u64)q->avail); mmio_write32(common + 0x2c, (u32)((u64)q->avail >> 32));
    mmio_write32(common + 0x30, (u32)(u64)q->used); mmio_write32(common + 0x34, (u32)((u64)q->used >> 32));
    q->notify = notify_base + (u64)r16(common + 0x1e) * notify_mult;
    w16(common + 0x1c, 1);
    (void)d; (void)f;
    return r16(common + 0x1c) == 1 ? 0 : -4;
}

static void rx_post(u16 i)
{
    rxq.desc[i].addr = (u64)(rxbuf + (u64)i * VN_BUF);
    rxq.desc[i].len = VN_BUF;
    rxq.desc[i].flags = 2;                      /* device-writable */
    vq_offer(&rxq, i);
}

/* One control command: class, cmd, data; returns the device's ack (0 = OK) or -1 on a timeout. */
static int ctrl(u8 cls, u8 cmd, const void *data, u32 len)
{
    u8 *b = ctbuf;
    b[0] = cls; b[1] = cmd;
    memcpy(b + 2, data, len);
    b[512] = 0xff;
    ctq.desc[0] = (struct vdesc){ (u64)b, 2 + len, 1, 1 };
    ctq.desc[1] = (struct vdesc){ (u64)(b + 512), 1, 2, 0 };
    vq_offer(&ctq, 0);
    vq_kick(&ctq);
    u64 end = now_us() + 2000000;
    while (used_idx(&ctq) == ctq.last_used)
        if (now_us() > end) return -1; else cpu_relax();
    ctq.last_used++;
    return b[512];
}

static u16 csum(const u8 *p, u32 n, u32 acc)
{
    for (u32 i = 0; i + 1 < n; i += 2) acc += (u32)p[i] << 8 | p[i + 1];
    if (n & 1) acc += (u32)p[n - 1] << 8;
    while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
    return (u16)~acc;
}

static u16 be16(const u8 *p) { return (u16)(p[0] << 8 | p[1]); }
static u32 be32(const u8 *p) { return (u32)p[0] << 24 | (u32)p[1] << 16 | (u32)p[2] << 8 | p[3]; }
static void put16(u8 *p, u16 v) { p[0] = (u8)(v >> 8); p[1] = (u8)v; }

static u16 tx_slot;
static void transmit(const u8 *frame, u32 len)
{
    /* reclaim what the device has sent */
    while (txq.last_used != used_idx(&txq)) txq.last_used++;
    if ((u16)(txq.avail_idx - txq.last_used) >= txq.size) { n_bad++; return; }
    u16 s = tx_slot++ % txq.size;
    u8 *b = txbuf + (u64)s * VN_BUF;
    memset(b, 0, VN_HDR);
    memcpy(b + VN_HDR, frame, len);
    struct vdesc *t = txtab + 2 * s;           /* indirect table: header, frame */
    t[0] = (struct vdesc){ (u64)b, VN_HDR, 1, 1 };
    t[1] = (struct vdesc){ (u64)(b + VN_HDR), len, 0, 0 };
    txq.desc[s] = (struct vdesc){ (u64)t, 32, 4, 0 };
    vq_offer(&txq, s);
    vq_kick(&txq);
    n_tx++;
}

static void handle(u8 *f, u32 len)
{
    static u8 out[VN_BUF];
    if (len < 14) { n_bad++; return; }
    u16 type = be16(f + 12);
    if (type == 0x0806 && len >= 42 && be16(f + 20) == 1 && be32(f + 38) == myip) {
        memcpy(out, f + 6, 6); memcpy(out + 6, mac, 6); put16(out + 12, 0x0806);
        memcpy(out + 14, f + 14, 6); put16(out + 20, 2);
        memcpy(out + 22, mac, 6); memcpy(out + 28, f + 38, 4);     /* sender = us */
        memcpy(out + 32, f + 22, 6); memcpy(out + 38, f + 28, 4);  /* target = asker */
        transmit(out, 42);
        n_arp++;
        return;
    }
    if (type != 0x0800 || len < 34) return;
    u8 *ip = f + 14;
    u32 ihl = (ip[0] & 15) * 4u, tot = be16(ip + 2);
    if ((ip[0] >> 4) != 4 || ihl < 20 || tot < ihl || 14 + tot > len || be32(ip + 16) != myip) return;
    if (len > sizeof out) return;
    memcpy(out, f, 14 + tot);
    memcpy(out, f + 6, 6); memcpy(out + 6, mac, 6);
    u8 *oip = out + 14, *l4 = oip + ihl;
    memcpy(oip + 12, ip + 16, 4); memcpy(oip + 16, ip + 12, 4);
    oip[8] = 64;
    u32 l4len = tot - ihl;
    if (ip[9] == 1 && l4len >= 8 && l4[0] == 8) {
        l4[0] = 0;
        put16(l4 + 2, 0);
        put16(l4 + 2, csum(l4, l4len, 0));
        n_icmp++;
    } else if (ip[9] == 17 && l4len >= 8 && be16(l4 + 2) == 7) {
        u16 sp = be16(l4);
        put16(l4, 7); put16(l4 + 2, sp);
        put16(l4 + 6, 0);                       /* no UDP checksum (IPv4 allows it) */
        if (l4len - 8 == 4 && !memcmp(l4 + 8, "stop", 4)) stop = 1;
        n_udp++;
    } else return;
    put16(oip + 10, 0);
    put16(oip + 10, csum(oip, ihl, 0));
    transmit(out, 14 + tot);
}

static u32 parse_ip(const char *s)
{
    u32 v = 0;
    for (int i = 0; i < 4; i++) {
        u32 o = 0;
        while (*s >= '0' && *s <= '9') o = o * 10 + (u32)(*s++ - '0');
        v = v << 8 | (o & 255);
        if (*s == '.') s++;
    }
    return v;
}

#define FAIL(...) do { char _b[160]; snprintf(_b, sizeof _b, __VA_ARGS__); kprintf("KIT net fail %s", _b); return; } while (0)

void test_net(void)
{
    char a[32] = "10.0.2.15", t[16] = "60";
    opt("kit.net.ip=", a, sizeof a);
    opt("kit.net.time=", t, sizeof t);
    myip = parse_ip(a);
    if (!cpu_apic[0]) cpu_apic[0] = kinfo.bsp_apic_id;
    int d, f = 0;
    for (d = 0; d < 32; d++)
        if (pci_cfg_read(0, d, 0, 0) == 0x10411af4u) break;
    if (d == 32) FAIL("no virtio-net device (1af4:1041) on bus 0");

    /* vendor capabilities: where the transport's structures are */
    int bar = -1;
    u32 off[5] = {0}, nmult = 0;
    if (!(pci_cfg_read(0, d, f, 4) & (1u << 20))) FAIL("no capability list");
    int p = pci_cfg_read(0, d, f, 0x34) & 0xfc;
    for (int n = 0; p && n < 48; n++) {
        u32 h = pci_cfg_read(0, d, f, p);
        if ((h & 0xff) == 0x09) {
            u32 type = (h >> 24) & 0xff, b = pci_cfg_read(0, d, f, p + 4) & 0xff;
            if (type >= 1 && type <= 4 && !off[type]) {
                off[type] = pci_cfg_read(0, d, f, p + 8) | 0x80000000u;   /* bit 31: found */
                if (bar >= 0 && (int)b != bar) FAIL("structures in several BARs");
                bar = (int)b;
                if (type == 2) nmult = pci_cfg_read(0, d, f, p + 16);
            }
        }
        p = (h >> 8) & 0xfc;
    }
    if (bar < 0 || !off[1] || !off[2] || !off[3] || !off[4]) FAIL("missing virtio capabilities");
    int is64;
    u64 base, sz = pci_bar_size(d, f, bar, &base, &is64);
    if (!sz) FAIL("BAR%d is not a memory BAR", bar);
    if (!base || base < kinfo.low_top || base < NVME_WIN_LO || base + sz > NVME_WIN_END) {
        u64 na = pci_bar_alloc(sz);
        if (!na) FAIL("no room for BAR%d", bar);
        u32 cmd = pci_cfg_read(0, d, f, 4);
        pci_cfg_write(0, d, f, 4, cmd & ~3u);
        pci_cfg_write(0, d, f, 0x10 + 4 * bar, (u32)na | (pci_cfg_read(0, d, f, 0x10 + 4 * bar) & 0xf));
        if (is64) pci_cfg_write(0, d, f, 0x14 + 4 * bar, 0);
        base = na;
    }
    pci_cfg_write(0, d, f, 4, (pci_cfg_read(0, d, f, 4) & 0xffff) | 0x6);
    common = base + (off[1] & 0x7fffffff);
    notify_base = base + (off[2] & 0x7fffffff);
    isr_addr = base + (off[3] & 0x7fffffff);
    devcfg = base + (off[4] & 0x7fffffff);
    notify_mult = nmult;

    /* MSI-X table (the kit only supports it in the same BAR) */
    u64 msix_tab = 0;
    int mc = pci_find_cap(d, f, 0x11);
    if (mc) {
        u32 tbl = pci_cfg_read(0, d, f, mc + 4);
        if ((int)(tbl & 7) == bar) msix_tab = base + (tbl & ~7u);
    }

    /* §3.1.1 initialisation */
    w8(common + 0x14, 0);
    u64 end = now_us() + 1000000;
    while (r8(common + 0x14)) if (now_us() > end) FAIL("reset did not complete");
    w8(common + 0x14, 1);
    w8(common + 0x14, 3);
    mmio_write32(common + 0x00, 0); u64 feat = mmio_read32(common + 0x04);
    mmio_write32(common + 0x00, 1); feat |= (u64)mmio_read32(common + 0x04) << 32;
    if (!(feat & (1ul << F_VERSION_1))) FAIL("device does not offer VERSION_1");
    u64 want = (1ul << F_VERSION_1) | (1ul << F_MAC) | (1ul << F_STATUS) | (1ul << F_MRG_RXBUF) | (1ul << F_INDIRECT)
             | (1ul << F_EVENT_IDX) | (1ul << F_CTRL_VQ) | (1ul << F_CTRL_RX);
    u64 use = feat & want;
    if (!(use & (1ul << F_INDIRECT))) FAIL("no indirect descriptors offered");
    event_idx = (use >> F_EVENT_IDX) & 1;
    mmio_write32(common + 0x08, 0); mmio_write32(common + 0x0c, (u32)use);
    mmio_write32(common + 0x08, 1); mmio_write32(common + 0x0c, (u32)(use >> 32));
    w8(common + 0x14, 3 | 8);
    if (!(r8(common + 0x14) & 8)) FAIL("FEATURES_OK not accepted (features 0x%lx)", use);

    if (msix_tab) {
        u64 tcfg = msix_tab + 16ul * 3;
        mmio_write32(tcfg, 0xfee00000u | (cpu_apic[0] << 12)); mmio_write32(tcfg + 4, 0);
        mmio_write32(tcfg + 8, VEC_CFG); mmio_write32(tcfg + 12, 0);
        u32 v = pci_cfg_read(0, d, f, mc);
        pci_cfg_write(0, d, f, mc, (v & ~(1u << 30)) | (1u << 31));
        pci_cfg_write(0, d, f, 4, (pci_cfg_read(0, d, f, 4) & 0xffff) | 0x6 | (1u << 10));
        w16(common + 0x10, 3);
    }
    int r;
    if ((r = vq_setup(d, f, msix_tab, &rxq, 0, VEC_RX))) FAIL("receive queue setup %d", r);
    if ((r = vq_setup(d, f, msix_tab, &txq, 1, VEC_TX))) FAIL("transmit queue setup %d", r);
    int have_ctrl = (use >> F_CTRL_VQ) & 1;
    if (have_ctrl && (r = vq_setup(d, f, msix_tab, &ctq, 2, VEC_CTRL))) FAIL("control queue setup %d", r);
    rxbuf = dma_alloc((u64)VN_QSZ * VN_BUF, 4096);
    txbuf = dma_alloc((u64)VN_QSZ * VN_BUF, 4096);
    txtab = dma_alloc((u64)VN_QSZ * 32, 4096);
    ctbuf = dma_alloc(4096, 4096);
    if (!rxbuf || !txbuf || !txtab || !ctbuf) FAIL("out of memory");
    for (int i = 0; i < 6; i++) mac[i] = r8(devcfg + (u64)i);
    u16 link = r16(devcfg + 6);
    w8(common + 0x14, 3 | 8 | 4);              /* DRIVER_OK */
    if (r8(common + 0x14) & 0x40) FAIL("device needs reset right after DRIVER_OK");
    for (u16 i = 0; i < rxq.size; i++) rx_post(i);
    vq_rearm(&rxq);
    vq_kick(&rxq);
    if (have_ctrl && (use >> F_CTRL_RX) & 1) {
        u8 off8 = 0;
        u8 tables[8] = {0};                     /* no unicast, no multicast entries */
        if (ctrl(0, 0, &off8, 1) != 0) FAIL("control: promiscuous off refused");
        if (ctrl(1, 0, tables, 8) != 0) FAIL("control: MAC table refused");
    }
    kprintf("KIT net-up mac=%02x:%02x:%02x:%02x:%02x:%02x ip=%s link=%u features=0x%lx msix=%s",
            mac[0], mac[1], mac[2], mac[3], mac[4], mac[5], a, link & 1, use, msix_tab ? "yes" : "no");

    u64 deadline = now_us() + parse_num(t) * 1000000ul;
    u32 seen = kinfo.vec_count[VEC_RX];
    while (!stop && now_us() < deadline) {
        int got = 0;
        while (rxq.last_used != used_idx(&rxq)) {
            __asm__ volatile("lfence" ::: "memory");
            u32 id = used_id(&rxq, rxq.last_used), len = used_len(&rxq, rxq.last_used);
            rxq.last_used++;
            if (id >= rxq.size || len < VN_HDR || len > VN_BUF) { n_bad++; continue; }
            u8 *b = rxbuf + (u64)id * VN_BUF;
            if (*(u16 *)(b + 10) != 1) n_bad++;  /* num_buffers: every frame fits one buffer */
            n_rx++;
            handle(b + VN_HDR, len - VN_HDR);
            rx_post((u16)id);
            got = 1;
        }
        if (got) { vq_kick(&rxq); vq_rearm(&rxq); continue; }
        wait_change(&kinfo.vec_count[VEC_RX], seen, 10000);
        seen = kinfo.vec_count[VEC_RX];
    }
    /* let the device send what is queued (the reply to "stop") before the reset below drops it */
    u64 drain = now_us() + 2000000;
    while (used_idx(&txq) != txq.avail_idx && now_us() < drain) cpu_relax();
    u32 irqs = kinfo.vec_count[VEC_RX] + kinfo.vec_count[VEC_TX];
    kprintf("KIT net ok mac=%02x:%02x:%02x:%02x:%02x:%02x ip=%s rx=%lu tx=%lu arp=%lu icmp=%lu udp=%lu bad=%lu irqs=%u stop=%s",
            mac[0], mac[1], mac[2], mac[3], mac[4], mac[5], a, n_rx, n_tx, n_arp, n_icmp, n_udp, n_bad, irqs,
            stop ? "yes" : "timeout");
    w8(common + 0x14, 0);                       /* leave the device reset */
}
