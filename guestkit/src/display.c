/*
 * QEMU fw_cfg (docs/specs/fw_cfg.rst in QEMU), ramfb and the i8042 keyboard, at CPL3.
 *
 * ramfb: signature and id through the data port, the file directory through a DMA read, a framebuffer
 * from the kit's DMA arena, the test pattern drawn into it, then RAMFBCfg (28 bytes, big-endian) written
 * to "etc/ramfb" with a DMA write.  The pattern is recomputed pixel for pixel by the VMM's Java test.
 *
 * lfb: the direct-boot linear framebuffer the VMM describes in boot_params.screen_info (VIDEO_TYPE_VLFB, 32 bpp,
 * X-R-G-B as vesafb expects it): its fields checked, then the same pattern drawn there, rows lfb_linelength apart.
 *
 * kbd: polls the 8042 status port and prints the bytes the keyboard sent (a VNC test types them).
 */
#include "kit.h"
#include "nvme.h"

#define FW_SEL          0x510
#define FW_DATA         0x511
#define FW_DMA          0x514
#define FW_ID           0x01
#define FW_FILE_DIR     0x19
#define DMA_ERROR       0x01
#define DMA_READ        0x02
#define DMA_SELECT      0x08
#define DMA_WRITE       0x10
#define MAX_FILES       64

struct fw_dma { u32 control, length; u64 address; } __attribute__((packed, aligned(16)));
struct fw_file { u32 size; u16 select, reserved; char name[56]; } PACKED;

static volatile struct fw_dma dma_desc;
static struct { u32 count; struct fw_file f[MAX_FILES]; } PACKED fw_dir;

static u32 be32(u32 v) { return __builtin_bswap32(v); }
static u64 be64(u64 v) { return __builtin_bswap64(v); }

static void fw_select(u16 key) { outw(FW_SEL, key); }

/* One DMA transfer; the kit is identity-mapped, so a pointer is its guest-physical address. */
static int fw_dma(u32 control, void *buf, u32 len)
{
    dma_desc.control = be32(control);
    dma_desc.length = be32(len);
    dma_desc.address = be64((u64)buf);
    barrier();
    u64 a = (u64)&dma_desc;
    outl(FW_DMA, be32((u32)(a >> 32)));         /* high half: stored */
    outl(FW_DMA + 4, be32((u32)a));             /* low half: starts the transfer */
    u64 end = now_us() + 1000000;
    u32 c;
    while (((c = be32(dma_desc.control)) & ~DMA_ERROR) && now_us() < end)
        cpu_relax();
    return c == 0 ? 0 : -1;
}

/* The pattern (the Java test computes the same): 8 vertical bars, an orange diagonal from (0,0). */
static const u32 bars[8] = { 0xffffff, 0xffff00, 0x00ffff, 0x00ff00, 0xff00ff, 0xff0000, 0x0000ff, 0x000000 };
#define DIAGONAL 0xff8000

static void draw_rows(u32 *fb, u32 w, u32 h, u32 stride)
{
    for (u32 y = 0; y < h; y++) {
        u32 *row = (u32 *)((u8 *)fb + (u64)y * stride);
        for (u32 i = 0; i < 8; i++) {
            u32 x0 = i * w / 8, x1 = (i + 1) * w / 8, c = bars[i];
            for (u32 x = x0; x < x1; x++) row[x] = c;
        }
        row[(u64)y * w / h] = DIAGONAL;
    }
}

static void draw(u32 *fb, u32 w, u32 h) { draw_rows(fb, w, h, w * 4); }

/* The pattern in RGB565 (kit.ramfb.format=rgb565): each colour's top 5/6/5 bits. */
static void draw565(u16 *fb, u32 w, u32 h)
{
    for (u32 y = 0; y < h; y++) {
        u16 *row = fb + (u64)y * w;
        for (u32 x = 0; x < w; x++) {
            u32 c = bars[x * 8 / w];
            if (x == (u64)y * w / h) c = DIAGONAL;
            row[x] = (u16)(((c >> 19) & 0x1f) << 11 | ((c >> 10) & 0x3f) << 5 | ((c >> 3) & 0x1f));
        }
    }
}

static char ramfb_arg[24] = "1024x768", ramfb_format_arg[12] = "xrgb8888";

void test_ramfb(void)
{
    char sig[5];
    opt("kit.ramfb=", ramfb_arg, sizeof ramfb_arg);
    opt("kit.ramfb.format=", ramfb_format_arg, sizeof ramfb_format_arg);
    int rgb565 = !strcmp(ramfb_format_arg, "rgb565");
    if (!rgb565 && strcmp(ramfb_format_arg, "xrgb8888")) { kprintf("KIT ramfb fail bad kit.ramfb.format=%s", ramfb_format_arg); return; }
    u32 bpp = rgb565 ? 2 : 4;
    fw_select(0);
    for (int i = 0; i < 4; i++) sig[i] = (char)inb(FW_DATA);
    sig[4] = 0;
    if (strcmp(sig, "QEMU")) { kprintf("KIT ramfb fail no fw_cfg (signature %02x%02x%02x%02x)", sig[0] & 0xff, sig[1] & 0xff, sig[2] & 0xff, sig[3] & 0xff); return; }
    fw_select(FW_ID);
    u32 id = 0;
    for (int i = 0; i < 4; i++) id |= (u32)inb(FW_DATA) << (8 * i);
    if (!(id & 2)) { kprintf("KIT ramfb fail fw_cfg without DMA (id=0x%x)", id); return; }
    if (fw_dma(FW_FILE_DIR << 16 | DMA_SELECT | DMA_READ, &fw_dir, sizeof fw_dir)) {
        kprintf("KIT ramfb fail DMA read of the file directory"); return;
    }
    u32 n = be32(fw_dir.count), key = 0, size = 0;
    for (u32 i = 0; i < n && i < MAX_FILES; i++)
        if (!strcmp(fw_dir.f[i].name, "etc/ramfb")) { key = __builtin_bswap16(fw_dir.f[i].select); size = be32(fw_dir.f[i].size); }
    if (!key) { kprintf("KIT ramfb fail no etc/ramfb in the fw_cfg directory (%u files)", n); return; }
    if (size != 28) { kprintf("KIT ramfb fail etc/ramfb is %u bytes, not 28", size); return; }

    u32 w = (u32)parse_num(ramfb_arg), h = 0;
    for (const char *p = ramfb_arg; *p; p++) if (*p == 'x') { h = (u32)parse_num(p + 1); break; }
    if (!w || !h || w > 8192 || h > 8192) { kprintf("KIT ramfb fail bad kit.ramfb=%s", ramfb_arg); return; }
    u32 *fb = dma_alloc((u64)w * h * bpp, 4096);
    if (!fb) { kprintf("KIT ramfb fail no memory for %ux%u", w, h); return; }
    if (rgb565) draw565((u16 *)fb, w, h);
    else draw(fb, w, h);

    static struct { u64 addr; u32 fourcc, flags, width, height, stride; } PACKED cfg;
    cfg.addr = be64((u64)fb);
    cfg.fourcc = be32(rgb565 ? 0x36314752 : 0x34325258); /* DRM_FORMAT_RGB565 'RG16', DRM_FORMAT_XRGB8888 'XR24' */
    cfg.flags = 0;
    cfg.width = be32(w);
    cfg.height = be32(h);
    cfg.stride = be32(w * bpp);
    if (fw_dma((u32)key << 16 | DMA_SELECT | DMA_WRITE, &cfg, sizeof cfg)) {
        kprintf("KIT ramfb fail DMA write of etc/ramfb"); return;
    }
    kprintf("KIT ramfb ok addr=0x%lx w=%u h=%u files=%u format=%s", (u64)fb, w, h, n, ramfb_format_arg);
}

/* struct screen_info at offset 0 of the zero page (Linux include/uapi/linux/screen_info.h) */
#define SI_ISVGA        0x0f
#define SI_WIDTH        0x12
#define SI_HEIGHT       0x14
#define SI_DEPTH        0x16
#define SI_BASE         0x18
#define SI_SIZE         0x1c
#define SI_LINELENGTH   0x24
#define SI_RED_SIZE     0x26
#define SI_CAPS         0x36
#define SI_EXT_BASE     0x3a
#define VIDEO_TYPE_VLFB 0x23

void test_lfb(void)
{
    u8 type = BP8(bootparams, SI_ISVGA);
    if (type != VIDEO_TYPE_VLFB) { kprintf("KIT lfb fail orig_video_isVGA=0x%x, not VIDEO_TYPE_VLFB", type); return; }
    u32 w = BP16(bootparams, SI_WIDTH), h = BP16(bootparams, SI_HEIGHT), depth = BP16(bootparams, SI_DEPTH);
    u32 line = BP16(bootparams, SI_LINELENGTH);
    u64 base = BP32(bootparams, SI_BASE);
    if (BP32(bootparams, SI_CAPS) & 2) base |= (u64)BP32(bootparams, SI_EXT_BASE) << 32;
    u64 size = (u64)BP32(bootparams, SI_SIZE) << 16;
    const volatile u8 *ch = &BP8(bootparams, SI_RED_SIZE);
    if (depth != 32 || ch[0] != 8 || ch[1] != 16 || ch[2] != 8 || ch[3] != 8 || ch[4] != 8 || ch[5] != 0) {
        kprintf("KIT lfb fail format depth=%u red=%u@%u green=%u@%u blue=%u@%u", depth, ch[0], ch[1], ch[2], ch[3],
                ch[4], ch[5]);
        return;
    }
    if (!w || !h || line < w * 4 || size < (u64)line * h) {
        kprintf("KIT lfb fail geometry %ux%u line=%u size=0x%lx", w, h, line, size); return;
    }
    /* The framebuffer must be outside e820 RAM (the kernel would hand its pages out) and below the mapped top. */
    const struct e820_entry *e = (const struct e820_entry *)(bootparams + BP_E820_TABLE);
    int n = BP8(bootparams, BP_E820_ENTRIES);
    for (int i = 0; i < n && i < E820_MAX; i++)
        if (e[i].type == 1 && e[i].addr < base + size && base < e[i].addr + e[i].size) {
            kprintf("KIT lfb fail 0x%lx+0x%lx overlaps e820 RAM 0x%lx+0x%lx", base, size, e[i].addr, e[i].size); return;
        }
    if (base + size > kinfo.mapped_top) { kprintf("KIT lfb fail 0x%lx not mapped", base); return; }
    draw_rows((u32 *)base, w, h, line);
    kprintf("KIT lfb ok base=0x%lx w=%u h=%u line=%u size=0x%lx", base, w, h, line, size);
}

static char kbd_count_arg[8] = "4", kbd_ms_arg[12] = "60000";

void test_kbd(void)
{
    opt("kit.kbd.count=", kbd_count_arg, sizeof kbd_count_arg);
    opt("kit.kbd.ms=", kbd_ms_arg, sizeof kbd_ms_arg);
    u32 want = (u32)parse_num(kbd_count_arg);
    if (want > 32) want = 32;
    for (int i = 0; i < 64 && (inb(0x64) & 1); i++) inb(0x60);     /* stale bytes */
    u8 got[32];
    u32 n = 0;
    kprintf("KIT kbd ready count=%u", want);
    u64 end = now_us() + parse_num(kbd_ms_arg) * 1000;
    while (n < want && now_us() < end) {
        u8 st = inb(0x64);
        if (!(st & 1)) { udelay(500); continue; }
        u8 b = inb(0x60);
        if (st & 0x20) continue;                /* a mouse byte */
        got[n++] = b;
    }
    char list[32 * 3 + 1];
    size_t pos = 0;
    list[0] = 0;
    for (u32 i = 0; i < n; i++) pos += (size_t)snprintf(list + pos, sizeof list - pos, i ? ",%02x" : "%02x", got[i]);
    if (n == want) kprintf("KIT kbd ok scancodes=%s", n ? list : "-");
    else kprintf("KIT kbd fail timeout after %u of %u bytes scancodes=%s", n, want, n ? list : "-");
}
