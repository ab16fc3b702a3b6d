/* PCI bus 0 scan with configuration mechanism #1; BARs sized as firmware does. */
#include "kit.h"

u32 pci_cfg_read(int b, int d, int f, int off)
{
    outl(0xcf8, 0x80000000u | (b << 16) | (d << 11) | (f << 8) | (off & 0xfc));
    return inl(0xcfc);
}
void pci_cfg_write(int b, int d, int f, int off, u32 v)
{
    outl(0xcf8, 0x80000000u | (b << 16) | (d << 11) | (f << 8) | (off & 0xfc));
    outl(0xcfc, v);
}

static void bars(int d, int f, int nbars, char *out, size_t n)
{
    size_t pos = 0;
    out[0] = 0;
    u32 cmd = pci_cfg_read(0, d, f, 4);
    pci_cfg_write(0, d, f, 4, cmd & ~3u);          /* decoding off while sizing */
    for (int i = 0; i < nbars; i++) {
        int off = 0x10 + 4 * i;
        u32 orig = pci_cfg_read(0, d, f, off);
        pci_cfg_write(0, d, f, off, 0xffffffffu);
        u32 probe = pci_cfg_read(0, d, f, off);
        pci_cfg_write(0, d, f, off, orig);
        if (!probe) continue;                   /* BAR not implemented */
        const char *type;
        u64 size;
        int is64 = 0;
        if (orig & 1) {
            u32 m = probe & ~3u & 0xffff;
            if (!m) continue;
            size = (u64)(~m & 0xffff) + 1;
            type = "io";
        } else {
            int pf = (orig >> 3) & 1;
            if (((orig >> 1) & 3) == 2 && i + 1 < nbars) {
                is64 = 1;
                u32 orig_hi = pci_cfg_read(0, d, f, off + 4);
                pci_cfg_write(0, d, f, off + 4, 0xffffffffu);
                u32 probe_hi = pci_cfg_read(0, d, f, off + 4);
                pci_cfg_write(0, d, f, off + 4, orig_hi);
                u64 m = ((u64)probe_hi << 32) | (probe & ~0xfu);
                if (!m) { i++; continue; }
                size = ~m + 1;
                type = pf ? "mem64pf" : "mem64";
            } else {
                u32 m = probe & ~0xfu;
                if (!m) continue;
                size = (u64)(u32)(~m + 1);
                type = pf ? "mem32pf" : "mem32";
            }
        }
        int w = snprintf(out + pos, n - pos, "%s%d:%s:0x%lx", pos ? "," : "", i, type, size);
        if (w > 0 && pos + (size_t)w < n) pos += (size_t)w;
        if (is64) i++;
    }
    pci_cfg_write(0, d, f, 4, cmd);
    if (!pos) snprintf(out, n, "-");
}

void test_pci(void)
{
    /* mechanism #1 present? */
    u32 save = inl(0xcf8);
    outl(0xcf8, 0x80000000u);
    u32 back = inl(0xcf8);
    outl(0xcf8, save);
    if (back != 0x80000000u) { kprintf("KIT pci fail no configuration mechanism #1 (0xcf8 reads 0x%x)", back); return; }

    static char lines[64][200];
    int n = 0;
    for (int d = 0; d < 32; d++) {
        u32 id0 = pci_cfg_read(0, d, 0, 0);
        if ((id0 & 0xffff) == 0xffff) continue;
        int mf = (pci_cfg_read(0, d, 0, 0x0c) >> 23) & 1;
        for (int f = 0; f < (mf ? 8 : 1); f++) {
            u32 id = f ? pci_cfg_read(0, d, f, 0) : id0;
            if ((id & 0xffff) == 0xffff) continue;
            u32 cls = pci_cfg_read(0, d, f, 8) >> 8;
            int htype = (pci_cfg_read(0, d, f, 0x0c) >> 16) & 0x7f;
            int pin = (pci_cfg_read(0, d, f, 0x3c) >> 8) & 0xff;
            char b[150];
            bars(d, f, htype == 0 ? 6 : htype == 1 ? 2 : 0, b, sizeof b);
            if (n < 64)
                snprintf(lines[n], sizeof lines[n], "KIT pci-dev 00:%02x.%x %04x:%04x class=%06x irq_pin=%d bars=%s",
                         d, f, id & 0xffff, id >> 16, cls, pin, b);
            n++;
        }
    }
    if (!n) { kprintf("KIT pci fail no devices on bus 0"); return; }
    kprintf("KIT pci ok devices=%d", n);
    for (int i = 0; i < n && i < 64; i++) kprintf("%s", lines[i]);
}
