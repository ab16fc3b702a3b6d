/*
 * virtio-net driver (virtio 1.2 §4.1 modern PCI transport, §5.1 network device) and a tiny responder, at
 * CPL3: ARP replies, ICMP echo replies and UDP echo (port 7) for the address in kit.net.ip=, until the host
 * sends the UDP datagram "stop" or kit.net.time= seconds (default 60) pass.  kit.net.pairs= queue pairs
 * (default 1, up to 4: VIRTIO_NET_F_MQ and VQ_PAIRS_SET; a frame is answered on the pair it came in on),
 * MSI-X (one table entry per queue plus configuration), event index, indirect descriptors for transmit,
 * mergeable receive buffers, and the control queue to turn promiscuous mode off and load an empty MAC
 * filter, so that the device's filtering is what the host's traffic goes through.
 * With kit.net.gw=IP and kit.net.hello=IP:PORT the guest also speaks first: once a second a UDP datagram
 * "hello N from XXXXXX" from its port 7 to that address through the gateway (whose MAC it asks by ARP).
 * Marker: KIT net ok mac=... ip=... pairs=N rx=... rxq=a/b/c/d tx=... arp=... icmp=... udp=... hello=... bad=...
 *         irqs=... stop=yes|timeout
 *
 * kit.tests=nethostile: a hostile driver.  Each case brings the device up, breaks a rule of §2.7 and checks
 * what the device does: a broken ring sets DEVICE_NEEDS_RESET (with a configuration interrupt), a bad buffer
 * comes back used with length 0; then a reset must bring the device back.  Marker:
 * KIT nethostile ok cases=N needs-reset=N returned=N, or KIT nethostile fail <case>: <what happened>.
 */
#include "kit.h"
#include "nvme.h"

#define VN_QSZ      64
#define VN_BUF      2048
#define VN_HDR      12
#define MAXPAIRS    4
/* One vector for every receive queue, one for every transmit queue: the loop waits on one counter. */
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
#define F_MQ            22
#define F_INDIRECT      28
#define F_EVENT_IDX     29
#define F_VERSION_1     32

#define S_ACK       1
#define S_DRIVER    2
#define S_DRIVER_OK 4
#define S_FEAT_OK   8
#define S_NEEDS_RESET 0x40

struct vdesc { u64 addr; u32 len; u16 flags; u16 next; } PACKED;
struct vq {
    u16 size, idx, last_used, avail_idx, notify_old;
    struct vdesc *desc;
    volatile u16 *avail;        /* flags, idx, ring[size], used_event */
    volatile u8 *used;          /* flags, idx, ring[size] of {u32 id, u32 len}, avail_event */
    u64 notify;
};

static int dev_d = -1;
static u64 common, isr_addr, devcfg, notify_base, msix_tab;
static int msix_cap;
static u32 notify_mult;
static u64 features;
static int event_idx;
static u16 nqueues;                         /* what the device has (common num_queues) */
static struct vq rxq[MAXPAIRS], txq[MAXPAIRS], ctq;
static u8 *rxbuf[MAXPAIRS], *txbuf[MAXPAIRS], *ctbuf;
static struct vdesc *txtab[MAXPAIRS];
static u16 tx_slot[MAXPAIRS];
static int npairs = 1;
static u8 mac[6];
static u32 myip;
static u64 n_rx, n_tx, n_arp, n_icmp, n_udp, n_bad, n_rxq[MAXPAIRS], n_hello;
/* kit.net.hello=IP:PORT with kit.net.gw=IP: the guest speaks first, through its gateway (a masquerade test) */
static u32 gw_ip, hello_ip;
static u16 hello_port;
static u8 gw_mac[6];
static int gw_known;
static int stop;

static inline u8 r8(u64 a) { return *(volatile u8 *)a; }
static inline u16 r16(u64 a) { return *(volatile u16 *)a; }
static inline void w8(u64 a, u8 v) { barrier(); *(volatile u8 *)a = v; }
static inline void w16(u64 a, u16 v) { barrier(); *(volatile u16 *)a = v; }

static u16 used_idx(struct vq *q) { return *(volatile u16 *)(q->used + 2); }
static u32 used_id(struct vq *q, u16 i) { return *(volatile u32 *)(q->used + 4 + 8 * (i % q->size)); }
static u32 used_len(struct vq *q, u16 i) { return *(volatile u32 *)(q->used + 8 + 8 * (i % q->size)); }
static u8 status(void) { return r8(common + 0x14); }

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

static void msix_entry(u16 entry, u32 vec)
{
    u64 t = msix_tab + 16ul * entry;
    mmio_write32(t + 0, 0xfee00000u | (cpu_apic[0] << 12));
    mmio_write32(t + 4, 0);
    mmio_write32(t + 8, vec);
    mmio_write32(t + 12, 0);
}

/* Sets up and enables queue idx with `size` entries (0: the kit's default) at the rings' addresses in q
 * (allocated once, reused by every bring-up). */
static int vq_setup(struct vq *q, u16 idx, u32 vec, u16 size)
{
    w16(common + 0x16, idx);
    u16 max = r16(common + 0x18);
    if (!max) return -1;
    q->idx = idx;
    q->size = size ? size : (max < VN_QSZ ? max : VN_QSZ);
    q->avail_idx = q->last_used = q->notify_old = 0;
    if (!q->desc) {
        q->desc = dma_alloc(4096, 4096);
        q->avail = dma_alloc(4096, 4096);
        q->used = dma_alloc(4096, 4096);
        if (!q->desc || !q->avail || !q->used) return -2;
    }
    memset(q->desc, 0, 4096); memset((void *)q->avail, 0, 4096); memset((void *)q->used, 0, 4096);
    w16(common + 0x18, q->size);
    if (msix_tab) {
        msix_entry(idx, vec);
        w16(common + 0x1a, idx);
        if (r16(common + 0x1a) != idx) return -3;
    }
    mmio_write32(common + 0x20, (u32)(u64)q->desc); mmio_write32(common + 0x24, (u32)((u64)q->desc >> 32));
    mmio_write32(common + 0x28, (u32)(u64)q->avail); mmio_write32(common + 0x2c, (u32)((u64)q->avail >> 32));
    mmio_write32(common + 0x30, (u32)(u64)q->used); mmio_write32(common + 0x34, (u32)((u64)q->used >> 32));
    q->notify = notify_base + (u64)r16(common + 0x1e) * notify_mult;
    w16(common + 0x1c, 1);
    return r16(common + 0x1c) == 1 ? 0 : -4;
}

static void rx_post(int p, u16 i)
{
    struct vq *q = &rxq[p];
    q->desc[i].addr = (u64)(rxbuf[p] + (u64)i * VN_BUF);
    q->desc[i].len = VN_BUF;
    q->desc[i].flags = 2;                      /* device-writable */
    vq_offer(q, i);
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

static void transmit(int p, const u8 *frame, u32 len)
{
    struct vq *q = &txq[p];
    /* reclaim what the device has sent */
    while (q->last_used != used_idx(q)) q->last_used++;
    if ((u16)(q->avail_idx - q->last_used) >= q->size) { n_bad++; return; }
    u16 s = tx_slot[p]++ % q->size;
    u8 *b = txbuf[p] + (u64)s * VN_BUF;
    memset(b, 0, VN_HDR);
    memcpy(b + VN_HDR, frame, len);
    struct vdesc *t = txtab[p] + 2 * s;        /* indirect table: header, frame */
    t[0] = (struct vdesc){ (u64)b, VN_HDR, 1, 1 };
    t[1] = (struct vdesc){ (u64)(b + VN_HDR), len, 0, 0 };
    q->desc[s] = (struct vdesc){ (u64)t, 32, 4, 0 };
    vq_offer(q, s);
    vq_kick(q);
    n_tx++;
}

static void handle(int p, u8 *f, u32 len)
{
    static u8 out[VN_BUF];
    if (len < 14) { n_bad++; return; }
    u16 type = be16(f + 12);
    if (type == 0x0806 && len >= 42 && be16(f + 20) == 2 && gw_ip && be32(f + 28) == gw_ip && be32(f + 38) == myip) {
        memcpy(gw_mac, f + 22, 6);              /* the gateway answered our request */
        gw_known = 1;
        n_arp++;
        return;
    }
    if (type == 0x0806 && len >= 42 && be16(f + 20) == 1 && be32(f + 38) == myip) {
        memcpy(out, f + 6, 6); memcpy(out + 6, mac, 6); put16(out + 12, 0x0806);
        memcpy(out + 14, f + 14, 6); put16(out + 20, 2);
        memcpy(out + 22, mac, 6); memcpy(out + 28, f + 38, 4);     /* sender = us */
        memcpy(out + 32, f + 22, 6); memcpy(out + 38, f + 28, 4);  /* target = asker */
        transmit(p, out, 42);
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
    transmit(p, out, 14 + tot);
}

static void put32(u8 *p, u32 v) { put16(p, (u16)(v >> 16)); put16(p + 2, (u16)v); }

/* Who has the gateway's address? (broadcast ARP request, RFC 826) */
static void arp_gateway(void)
{
    u8 f[42];
    memset(f, 0xff, 6); memcpy(f + 6, mac, 6); put16(f + 12, 0x0806);
    put16(f + 14, 1); put16(f + 16, 0x0800); f[18] = 6; f[19] = 4; put16(f + 20, 1);
    memcpy(f + 22, mac, 6); put32(f + 28, myip);
    memset(f + 32, 0, 6); put32(f + 38, gw_ip);
    transmit(0, f, 42);
}

/* A UDP datagram to kit.net.hello through the gateway, from port 7 (so that answers come to the echo). */
static void send_hello(void)
{
    u8 f[14 + 20 + 8 + 32];
    char msg[32];
    int n = snprintf(msg, sizeof msg, "hello %lu from %02x%02x%02x", n_hello, mac[3], mac[4], mac[5]);
    u32 l4 = 8 + (u32)n, tot = 20 + l4;
    memcpy(f, gw_mac, 6); memcpy(f + 6, mac, 6); put16(f + 12, 0x0800);
    u8 *ip = f + 14, *udp = ip + 20;
    memset(ip, 0, 20);
    ip[0] = 0x45; put16(ip + 2, (u16)tot); ip[8] = 64; ip[9] = 17;
    put32(ip + 12, myip); put32(ip + 16, hello_ip);
    put16(ip + 10, csum(ip, 20, 0));
    put16(udp, 7); put16(udp + 2, hello_port); put16(udp + 4, (u16)l4); put16(udp + 6, 0);
    memcpy(udp + 8, msg, (u32)n);
    transmit(0, f, 14 + tot);
    n_hello++;
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

static char why[160];
#define WHY(...) (snprintf(why, sizeof why, __VA_ARGS__), -1)

/* Memory BAR `bar`, moved into the kit's 32-bit window unless firmware put it there: its base, or 0 with `why`. */
static u64 map_bar(int d, int f, int bar)
{
    int is64;
    u64 base, sz = pci_bar_size(d, f, bar, &base, &is64);
    if (!sz) { (void)WHY("BAR%d is not a memory BAR", bar); return 0; }
    if (!base || base < kinfo.low_top || base < NVME_WIN_LO || base + sz > NVME_WIN_END) {
        u64 na = pci_bar_alloc(sz);
        if (!na) { (void)WHY("no room for BAR%d", bar); return 0; }
        u32 cmd = pci_cfg_read(0, d, f, 4);
        pci_cfg_write(0, d, f, 4, cmd & ~3u);
        pci_cfg_write(0, d, f, 0x10 + 4 * bar, (u32)na | (pci_cfg_read(0, d, f, 0x10 + 4 * bar) & 0xf));
        if (is64) pci_cfg_write(0, d, f, 0x14 + 4 * bar, 0);
        pci_cfg_write(0, d, f, 4, cmd);
        base = na;
    }
    return base;
}

/* Finds the device and maps its BAR: 0, or -1 with `why` set. Once. */
static int find_device(void)
{
    if (dev_d >= 0) return 0;
    if (!cpu_apic[0]) cpu_apic[0] = kinfo.bsp_apic_id;
    int d, f = 0;
    for (d = 0; d < 32; d++)
        if (pci_cfg_read(0, d, 0, 0) == 0x10411af4u) break;
    if (d == 32) return WHY("no virtio-net device (1af4:1041) on bus 0");

    /* vendor capabilities: where the transport's structures are */
    int bar = -1;
    u32 off[5] = {0}, nmult = 0;
    if (!(pci_cfg_read(0, d, f, 4) & (1u << 20))) return WHY("no capability list");
    int p = pci_cfg_read(0, d, f, 0x34) & 0xfc;
    for (int n = 0; p && n < 48; n++) {
        u32 h = pci_cfg_read(0, d, f, p);
        if ((h & 0xff) == 0x09) {
            u32 type = (h >> 24) & 0xff, b = pci_cfg_read(0, d, f, p + 4) & 0xff;
            if (type >= 1 && type <= 4 && !off[type]) {
                off[type] = pci_cfg_read(0, d, f, p + 8) | 0x80000000u;   /* bit 31: found */
                if (bar >= 0 && (int)b != bar) return WHY("structures in several BARs");
                bar = (int)b;
                if (type == 2) nmult = pci_cfg_read(0, d, f, p + 16);
            }
        }
        p = (h >> 8) & 0xfc;
    }
    if (bar < 0 || !off[1] || !off[2] || !off[3] || !off[4]) return WHY("missing virtio capabilities");
    u64 base = map_bar(d, f, bar);
    if (!base) return -1;
    pci_cfg_write(0, d, f, 4, (pci_cfg_read(0, d, f, 4) & 0xffff) | 0x6);
    common = base + (off[1] & 0x7fffffff);
    notify_base = base + (off[2] & 0x7fffffff);
    isr_addr = base + (off[3] & 0x7fffffff);
    devcfg = base + (off[4] & 0x7fffffff);
    notify_mult = nmult;

    /* MSI-X table: in the same BAR (Apiary) or its own (QEMU puts it in BAR1) */
    msix_cap = pci_find_cap(d, f, 0x11);
    if (msix_cap) {
        u32 tbl = pci_cfg_read(0, d, f, msix_cap + 4);
        u64 tb = (int)(tbl & 7) == bar ? base : map_bar(d, f, (int)(tbl & 7));
        if (tb) msix_tab = tb + (tbl & ~7u);
        pci_cfg_write(0, d, f, 4, (pci_cfg_read(0, d, f, 4) & 0xffff) | 0x6);
    }
    dev_d = d;
    return 0;
}

/* §3.1.1: reset, ACKNOWLEDGE, DRIVER, features (want & offered), FEATURES_OK, MSI-X on. */
static int negotiate(u64 want)
{
    w8(common + 0x14, 0);
    u64 end = now_us() + 1000000;
    while (status()) if (now_us() > end) return WHY("reset did not complete");
    w8(common + 0x14, S_ACK);
    w8(common + 0x14, S_ACK | S_DRIVER);
    mmio_write32(common + 0x00, 0); u64 feat = mmio_read32(common + 0x04);
    mmio_write32(common + 0x00, 1); feat |= (u64)mmio_read32(common + 0x04) << 32;
    if (!(feat & (1ul << F_VERSION_1))) return WHY("device does not offer VERSION_1");
    features = feat & want;
    event_idx = (features >> F_EVENT_IDX) & 1;
    mmio_write32(common + 0x08, 0); mmio_write32(common + 0x0c, (u32)features);
    mmio_write32(common + 0x08, 1); mmio_write32(common + 0x0c, (u32)(features >> 32));
    w8(common + 0x14, S_ACK | S_DRIVER | S_FEAT_OK);
    if (!(status() & S_FEAT_OK)) return WHY("FEATURES_OK not accepted (features 0x%lx)", features);
    nqueues = r16(common + 0x12);
    if (msix_tab) {
        msix_entry(nqueues, VEC_CFG);           /* the entry after the queues' */
        u32 v = pci_cfg_read(0, dev_d, 0, msix_cap);
        pci_cfg_write(0, dev_d, 0, msix_cap, (v & ~(1u << 30)) | (1u << 31));
        pci_cfg_write(0, dev_d, 0, 4, (pci_cfg_read(0, dev_d, 0, 4) & 0xffff) | 0x6 | (1u << 10));
        w16(common + 0x10, nqueues);
        if (r16(common + 0x10) != nqueues) return WHY("configuration vector not taken");
    }
    return 0;
}

static int alloc_buffers(int p)
{
    if (!rxbuf[p]) {
        rxbuf[p] = dma_alloc((u64)VN_QSZ * VN_BUF, 4096);
        txbuf[p] = dma_alloc((u64)VN_QSZ * VN_BUF, 4096);
        txtab[p] = dma_alloc((u64)VN_QSZ * 32, 4096);
        if (!rxbuf[p] || !txbuf[p] || !txtab[p]) return WHY("out of memory");
    }
    if (!ctbuf && !(ctbuf = dma_alloc(4096, 4096))) return WHY("out of memory");
    return 0;
}

#define FAIL(...) do { char _b[160]; snprintf(_b, sizeof _b, __VA_ARGS__); kprintf("KIT net fail %s", _b); return; } while (0)

void test_net(void)
{
    char a[32] = "10.0.2.15", t[16] = "60", np[8] = "1", gw[32] = "", hello[40] = "";
    opt("kit.net.ip=", a, sizeof a);
    opt("kit.net.gw=", gw, sizeof gw);
    opt("kit.net.hello=", hello, sizeof hello);
    if (gw[0] && hello[0]) {
        gw_ip = parse_ip(gw);
        hello_ip = parse_ip(hello);
        const char *c = hello;
        while (*c && *c != ':') c++;
        hello_port = *c ? (u16)parse_num(c + 1) : 9;
    }
    opt("kit.net.time=", t, sizeof t);
    opt("kit.net.pairs=", np, sizeof np);
    myip = parse_ip(a);
    npairs = (int)parse_num(np);
    if (npairs < 1 || npairs > MAXPAIRS) FAIL("kit.net.pairs=%s: 1 to %d", np, MAXPAIRS);
    if (find_device()) FAIL("%s", why);

    u64 want = (1ul << F_VERSION_1) | (1ul << F_MAC) | (1ul << F_STATUS) | (1ul << F_MRG_RXBUF) | (1ul << F_INDIRECT)
             | (1ul << F_EVENT_IDX) | (1ul << F_CTRL_VQ) | (1ul << F_CTRL_RX) | (npairs > 1 ? 1ul << F_MQ : 0);
    if (negotiate(want)) FAIL("%s", why);
    if (!(features & (1ul << F_INDIRECT))) FAIL("no indirect descriptors offered");
    u16 maxpairs = (features >> F_MQ) & 1 ? r16(devcfg + 8) : 1;
    if (npairs > maxpairs) FAIL("%d pairs asked, the device has %u", npairs, maxpairs);
    int r;
    for (int p = 0; p < npairs; p++) {
        if ((r = vq_setup(&rxq[p], (u16)(2 * p), VEC_RX, 0))) FAIL("receive queue %d setup %d", p, r);
        if ((r = vq_setup(&txq[p], (u16)(2 * p + 1), VEC_TX, 0))) FAIL("transmit queue %d setup %d", p, r);
        if (alloc_buffers(p)) FAIL("%s", why);
    }
    int have_ctrl = (features >> F_CTRL_VQ) & 1;
    /* §5.1.2: the control queue follows the last possible pair: 2 * max_virtqueue_pairs with MQ. */
    if (have_ctrl && (r = vq_setup(&ctq, (u16)(2 * maxpairs), VEC_CTRL, 0))) FAIL("control queue setup %d", r);
    if (alloc_buffers(0)) FAIL("%s", why);
    for (int i = 0; i < 6; i++) mac[i] = r8(devcfg + (u64)i);
    u16 link = r16(devcfg + 6);
    w8(common + 0x14, S_ACK | S_DRIVER | S_FEAT_OK | S_DRIVER_OK);
    if (status() & S_NEEDS_RESET) FAIL("device needs reset right after DRIVER_OK");
    for (int p = 0; p < npairs; p++) {
        tx_slot[p] = 0;
        for (u16 i = 0; i < rxq[p].size; i++) rx_post(p, i);
        vq_rearm(&rxq[p]);
        vq_kick(&rxq[p]);
    }
    if (have_ctrl && (features >> F_CTRL_RX) & 1) {
        u8 off8 = 0;
        u8 tables[8] = {0};                     /* no unicast, no multicast entries */
        if (ctrl(0, 0, &off8, 1) != 0) FAIL("control: promiscuous off refused");
        if (ctrl(1, 0, tables, 8) != 0) FAIL("control: MAC table refused");
    }
    if (npairs > 1) {
        u8 le[2] = { (u8)npairs, (u8)(npairs >> 8) };
        if (ctrl(4, 0, le, 2) != 0) FAIL("control: VQ_PAIRS_SET %d refused", npairs);
    }
    kprintf("KIT net-up mac=%02x:%02x:%02x:%02x:%02x:%02x ip=%s link=%u features=0x%lx msix=%s pairs=%d",
            mac[0], mac[1], mac[2], mac[3], mac[4], mac[5], a, link & 1, features, msix_tab ? "yes" : "no", npairs);

    u64 deadline = now_us() + parse_num(t) * 1000000ul;
    u32 seen = kinfo.vec_count[VEC_RX];
    u64 next_hello = now_us();
    while (!stop && now_us() < deadline) {
        int got = 0;
        if (hello_ip && now_us() >= next_hello) {
            if (gw_known) send_hello(); else arp_gateway();
            next_hello = now_us() + 1000000;
        }
        for (int p = 0; p < npairs; p++) {
            struct vq *q = &rxq[p];
            int here = 0;
            while (q->last_used != used_idx(q)) {
                __asm__ volatile("lfence" ::: "memory");
                u32 id = used_id(q, q->last_used), len = used_len(q, q->last_used);
                q->last_used++;
                if (id >= q->size || len < VN_HDR || len > VN_BUF) { n_bad++; continue; }
                u8 *b = rxbuf[p] + (u64)id * VN_BUF;
                if (*(u16 *)(b + 10) != 1) n_bad++;  /* num_buffers: every frame fits one buffer */
                n_rx++;
                n_rxq[p]++;
                handle(p, b + VN_HDR, len - VN_HDR);
                rx_post(p, (u16)id);
                here = 1;
            }
            if (here) { vq_kick(q); vq_rearm(q); got = 1; }
        }
        if (got) continue;
        wait_change(&kinfo.vec_count[VEC_RX], seen, 10000);
        seen = kinfo.vec_count[VEC_RX];
    }
    /* let the device send what is queued (the reply to "stop") before the reset below drops it */
    u64 drain = now_us() + 2000000;
    for (int p = 0; p < npairs; p++)
        while (used_idx(&txq[p]) != txq[p].avail_idx && now_us() < drain) cpu_relax();
    u32 irqs = kinfo.vec_count[VEC_RX] + kinfo.vec_count[VEC_TX];
    kprintf("KIT net ok mac=%02x:%02x:%02x:%02x:%02x:%02x ip=%s pairs=%d rx=%lu rxq=%lu/%lu/%lu/%lu tx=%lu arp=%lu "
            "icmp=%lu udp=%lu hello=%lu bad=%lu irqs=%u stop=%s",
            mac[0], mac[1], mac[2], mac[3], mac[4], mac[5], a, npairs, n_rx, n_rxq[0], n_rxq[1], n_rxq[2], n_rxq[3],
            n_tx, n_arp, n_icmp, n_udp, n_hello, n_bad, irqs, stop ? "yes" : "timeout");
    w8(common + 0x14, 0);                       /* leave the device reset */
}

/* ---- the hostile driver -------------------------------------------------------------------------------- */

static u64 n_needs_reset, n_returned;

/* Brings the device up with one pair (receive 0, transmit 1), no control queue; 0 or -1 with `why`. */
static int bring_up(void)
{
    u64 want = (1ul << F_VERSION_1) | (1ul << F_MAC) | (1ul << F_INDIRECT) | (1ul << F_EVENT_IDX);
    if (negotiate(want)) return -1;
    int r;
    if ((r = vq_setup(&rxq[0], 0, VEC_RX, 0))) return WHY("receive queue setup %d", r);
    if ((r = vq_setup(&txq[0], 1, VEC_TX, 0))) return WHY("transmit queue setup %d", r);
    if (alloc_buffers(0)) return -1;
    w8(common + 0x14, S_ACK | S_DRIVER | S_FEAT_OK | S_DRIVER_OK);
    if (status() & S_NEEDS_RESET) return WHY("needs reset right after DRIVER_OK");
    return 0;
}

/* Waits up to a second for DEVICE_NEEDS_RESET and, after DRIVER_OK, its configuration interrupt (§2.1.2). */
static int expect_needs_reset(u32 cfg_before)
{
    u64 end = now_us() + 1000000;
    while (!(status() & S_NEEDS_RESET) && now_us() < end) cpu_relax();
    if (!(status() & S_NEEDS_RESET)) return WHY("no DEVICE_NEEDS_RESET (status 0x%x)", status());
    if (msix_tab && (status() & S_DRIVER_OK)) {
        wait_change(&kinfo.vec_count[VEC_CFG], cfg_before, 1000000);
        if (kinfo.vec_count[VEC_CFG] == cfg_before) return WHY("DEVICE_NEEDS_RESET without a configuration interrupt");
    }
    n_needs_reset++;
    return 0;
}

/* Waits up to a second for the chain `head` to come back used with length 0, the device still fine. */
static int expect_returned(struct vq *q, u16 head)
{
    u64 end = now_us() + 1000000;
    while (used_idx(q) == q->last_used && now_us() < end) cpu_relax();
    if (used_idx(q) == q->last_used) return WHY("the chain did not come back (status 0x%x)", status());
    u32 id = used_id(q, q->last_used), len = used_len(q, q->last_used);
    q->last_used++;
    if (id != head || len != 0) return WHY("came back as id %u len %u, not %u len 0", id, len, head);
    if (status() & S_NEEDS_RESET) return WHY("DEVICE_NEEDS_RESET for a bad buffer only");
    n_returned++;
    return 0;
}

static u8 *scratch;

/* Each case: the device is up; break it; 0 if the device reacted as the spec says. */
static int case_loop(void)
{
    u32 c = kinfo.vec_count[VEC_CFG];
    txq[0].desc[0] = (struct vdesc){ (u64)scratch, VN_HDR, 1, 1 };
    txq[0].desc[1] = (struct vdesc){ (u64)scratch, 64, 1, 0 };    /* next: back to 0 */
    vq_offer(&txq[0], 0); w16(txq[0].notify, 1);
    return expect_needs_reset(c);
}

static int case_next_outside(void)
{
    u32 c = kinfo.vec_count[VEC_CFG];
    txq[0].desc[0] = (struct vdesc){ (u64)scratch, VN_HDR, 1, 0x7fff };
    vq_offer(&txq[0], 0); w16(txq[0].notify, 1);
    return expect_needs_reset(c);
}

static int case_head_outside(void)
{
    u32 c = kinfo.vec_count[VEC_CFG];
    vq_offer(&txq[0], 0xffff); w16(txq[0].notify, 1);
    return expect_needs_reset(c);
}

static int case_avail_ahead(void)
{
    u32 c = kinfo.vec_count[VEC_CFG];
    txq[0].avail[1] = (u16)(txq[0].size + 5);
    w16(txq[0].notify, 1);
    return expect_needs_reset(c);
}

static int case_indirect_nested(void)
{
    u32 c = kinfo.vec_count[VEC_CFG];
    struct vdesc *t = (struct vdesc *)(scratch + 1024);
    t[0] = (struct vdesc){ (u64)(scratch + 2048), 16, 4, 0 };      /* an indirect inside an indirect */
    txq[0].desc[0] = (struct vdesc){ (u64)t, 16, 4, 0 };
    vq_offer(&txq[0], 0); w16(txq[0].notify, 1);
    return expect_needs_reset(c);
}

static int case_indirect_odd(void)
{
    u32 c = kinfo.vec_count[VEC_CFG];
    txq[0].desc[0] = (struct vdesc){ (u64)(scratch + 1024), 20, 4, 0 };  /* not a multiple of 16 */
    vq_offer(&txq[0], 0); w16(txq[0].notify, 1);
    return expect_needs_reset(c);
}

static int case_indirect_outside(void)
{
    u32 c = kinfo.vec_count[VEC_CFG];
    txq[0].desc[0] = (struct vdesc){ 0xfffffffff000ul, 64, 4, 0 };
    vq_offer(&txq[0], 0); w16(txq[0].notify, 1);
    return expect_needs_reset(c);
}

static int case_tx_outside_ram(void)
{
    txq[0].desc[0] = (struct vdesc){ (u64)scratch, VN_HDR, 1, 1 };
    txq[0].desc[1] = (struct vdesc){ 0x7ffffffff000ul, 1500, 0, 0 };
    vq_offer(&txq[0], 0); w16(txq[0].notify, 1);
    return expect_returned(&txq[0], 0);
}

static int case_tx_huge(void)
{
    txq[0].desc[0] = (struct vdesc){ (u64)scratch, 0xffffffffu, 0, 0 };
    vq_offer(&txq[0], 0); w16(txq[0].notify, 1);
    return expect_returned(&txq[0], 0);
}

static int case_tx_zero(void)
{
    txq[0].desc[0] = (struct vdesc){ (u64)scratch, 0, 1, 1 };
    txq[0].desc[1] = (struct vdesc){ (u64)scratch, 0, 0, 0 };
    vq_offer(&txq[0], 0); w16(txq[0].notify, 1);
    return expect_returned(&txq[0], 0);
}

static int case_rx_outside_ram(void)
{
    rxq[0].desc[0] = (struct vdesc){ 0x7ffffffff000ul, VN_BUF, 2, 0 };
    vq_offer(&rxq[0], 0); w16(rxq[0].notify, 0);
    return expect_returned(&rxq[0], 0);
}

static int case_rx_readable(void)
{
    rxq[0].desc[0] = (struct vdesc){ (u64)scratch, VN_BUF, 0, 0 };    /* not device-writable */
    vq_offer(&rxq[0], 0); w16(rxq[0].notify, 0);
    return expect_returned(&rxq[0], 0);
}

static int case_rx_write_then_read(void)
{
    rxq[0].desc[0] = (struct vdesc){ (u64)scratch, VN_BUF, 3, 1 };    /* writable, then... */
    rxq[0].desc[1] = (struct vdesc){ (u64)scratch + VN_BUF, 64, 0, 0 };  /* ...readable: out of order */
    vq_offer(&rxq[0], 0); w16(rxq[0].notify, 0);
    return expect_returned(&rxq[0], 0);
}

/* Before DRIVER_OK: a queue size that is not a power of two is not enabled, and the device needs a reset. */
static int case_queue_size(void)
{
    u64 want = (1ul << F_VERSION_1) | (1ul << F_MAC);
    if (negotiate(want)) return -1;
    u32 c = kinfo.vec_count[VEC_CFG];
    int r = vq_setup(&rxq[0], 0, VEC_RX, 3);
    if (r != -4) return WHY("a queue of 3 entries was enabled (setup %d)", r);
    return expect_needs_reset(c);
}

static int case_rings_outside_ram(void)
{
    u64 want = (1ul << F_VERSION_1) | (1ul << F_MAC);
    if (negotiate(want)) return -1;
    u32 c = kinfo.vec_count[VEC_CFG];
    w16(common + 0x16, 1);
    w16(common + 0x18, 64);
    mmio_write32(common + 0x20, 0xfffff000u); mmio_write32(common + 0x24, 0x7fff);
    w16(common + 0x1c, 1);
    if (r16(common + 0x1c) == 1) return WHY("a queue with rings outside RAM was enabled");
    return expect_needs_reset(c);
}

static int case_driver_ok_early(void)
{
    w8(common + 0x14, 0);
    while (status()) cpu_relax();
    w8(common + 0x14, S_ACK | S_DRIVER);
    if (msix_tab) w16(common + 0x10, nqueues);  /* the reset forgot the configuration vector */
    u32 c = kinfo.vec_count[VEC_CFG];
    w8(common + 0x14, S_ACK | S_DRIVER | S_DRIVER_OK);              /* no FEATURES_OK */
    return expect_needs_reset(c);
}

void test_net_hostile(void)
{
    if (find_device()) { kprintf("KIT nethostile fail %s", why); return; }
    if (!(scratch = dma_alloc(8192, 4096))) { kprintf("KIT nethostile fail out of memory"); return; }
    static const struct { const char *name; int (*fn)(void); int up; } cases[] = {
        { "descriptor-loop", case_loop, 1 }, { "next-outside-table", case_next_outside, 1 },
        { "head-outside-table", case_head_outside, 1 }, { "avail-index-ahead", case_avail_ahead, 1 },
        { "indirect-nested", case_indirect_nested, 1 }, { "indirect-odd-length", case_indirect_odd, 1 },
        { "indirect-outside-ram", case_indirect_outside, 1 }, { "tx-buffer-outside-ram", case_tx_outside_ram, 1 },
        { "tx-huge-length", case_tx_huge, 1 }, { "tx-zero-length", case_tx_zero, 1 },
        { "rx-buffer-outside-ram", case_rx_outside_ram, 1 }, { "rx-readable-buffer", case_rx_readable, 1 },
        { "rx-readable-after-writable", case_rx_write_then_read, 1 },
        { "queue-size-3", case_queue_size, 0 }, { "rings-outside-ram", case_rings_outside_ram, 0 },
        { "driver-ok-without-features-ok", case_driver_ok_early, 0 },
    };
    int n = (int)(sizeof cases / sizeof cases[0]);
    for (int i = 0; i < n; i++) {
        if (cases[i].up && bring_up()) { kprintf("KIT nethostile fail %s: bring-up: %s", cases[i].name, why); return; }
        if (cases[i].fn()) { kprintf("KIT nethostile fail %s: %s", cases[i].name, why); return; }
        /* A reset always brings the device back (status reads 0 once its threads are idle). */
        w8(common + 0x14, 0);
        u64 end = now_us() + 1000000;
        while (status() && now_us() < end) cpu_relax();
        if (status()) { kprintf("KIT nethostile fail %s: reset did not complete", cases[i].name); return; }
    }
    kprintf("KIT nethostile ok cases=%d needs-reset=%lu returned=%lu", n, n_needs_reset, n_returned);
}
