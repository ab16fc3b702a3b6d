/* ACPI: RSDP, RSDT/XSDT, checksums, FADT, MADT, DSDT _S5_, S5 power-off. */
#include "kit.h"

struct sdt { char sig[4]; u32 len; u8 rev; u8 csum; char oem[6]; char oemtab[8]; u32 oemrev; u32 creator; u32 crev; } PACKED;
struct gas { u8 space, width, offset, access; u64 addr; } PACKED;

struct acpi_facts acpi;
static char err[96];
static char oem[7];
static char sigs[256];
static int rsdp_rev;
static int root_is_xsdt;

static int sum(const void *p, u32 n) { u8 s = 0; const u8 *b = p; while (n--) s += *b++; return s; }

static u64 find_rsdp(void)
{
    u64 a = BP64(bootparams, BP_ACPI_RSDP);
    if (a) return a;
    u64 ebda = (u64)(*(volatile u16 *)0x40e) << 4;
    if (ebda >= 0x80000 && ebda < 0xa0000)
        for (u64 p = ebda; p < ebda + 1024; p += 16)
            if (!memcmp((void *)p, "RSD PTR ", 8) && !sum((void *)p, 20)) return p;
    for (u64 p = 0xe0000; p < 0x100000; p += 16)
        if (!memcmp((void *)p, "RSD PTR ", 8) && !sum((void *)p, 20)) return p;
    return 0;
}

static int find_s5(const u8 *aml, u32 len)
{
    for (u32 i = 2; i + 10 < len; i++) {
        if (memcmp(aml + i, "_S5_", 4)) continue;
        if (aml[i - 1] != 0x08 && !(aml[i - 1] == '\\' && aml[i - 2] == 0x08)) continue;
        const u8 *p = aml + i + 4;
        if (*p++ != 0x12) continue;             /* PackageOp */
        p += (*p >> 6) + 1;                      /* PkgLength */
        p++;                                     /* NumElements */
        if (*p == 0x0a || *p == 0x0b || *p == 0x0c) return p[1];
        if (*p == 0x00) return 0;
        if (*p == 0x01) return 1;
        if (*p == 0xff) return -1;
        continue;
    }
    return -1;
}

static void parse_fadt(const u8 *f, u32 len)
{
    acpi.fadt_found = 1;
    const struct sdt *h = (const void *)f;
    u32 flags = len >= 116 ? *(u32 *)(f + 112) : 0;
    acpi.pm1a_cnt = *(u32 *)(f + 64);
    acpi.pm1b_cnt = *(u32 *)(f + 68);
    acpi.pm_tmr = *(u32 *)(f + 76);
    acpi.century = f[108];
    acpi.tmr32 = (flags >> 8) & 1;
    acpi.hw_reduced = (flags >> 20) & 1;
    if (h->rev >= 2 && len >= 129 && (flags & (1 << 10))) {
        const struct gas *r = (const void *)(f + 116);
        acpi.reset_sup = 1;
        acpi.reset_space = r->space;
        acpi.reset_addr = r->addr;
        acpi.reset_val = f[128];
    }
    if (len >= 184) {
        const struct gas *x = (const void *)(f + 172);
        if (x->addr && x->space == 1) acpi.pm1a_cnt = (u32)x->addr;
    }
    if (len >= 220) {
        const struct gas *x = (const void *)(f + 208);
        if (x->addr && x->space == 1) acpi.pm_tmr = (u32)x->addr;
    }
    if (len >= 256) {
        const struct gas *x = (const void *)(f + 244);
        if (x->addr) { kinfo.sleep_ctl = x->addr; kinfo.sleep_ctl_io = x->space == 1; }
    }
}

static void parse_madt(const u8 *m, u32 len)
{
    acpi.madt_found = 1;
    acpi.madt_lapic_addr = *(u32 *)(m + 36);
    for (u32 o = 44; o + 2 <= len && m[o + 1] >= 2; o += m[o + 1]) {
        const u8 *e = m + o;
        switch (e[0]) {
        case 0:     /* processor local APIC */
            if ((*(u32 *)(e + 4) & 1) && acpi.nlapic < MAXCPU) acpi.apic_ids[acpi.nlapic++] = e[3];
            break;
        case 9:     /* processor local x2APIC */
            if ((*(u32 *)(e + 8) & 1) && acpi.nlapic < MAXCPU) acpi.apic_ids[acpi.nlapic++] = *(u32 *)(e + 4);
            break;
        case 1:
            if (acpi.nioapic < 8) {
                acpi.ioapic[acpi.nioapic].id = e[2];
                acpi.ioapic[acpi.nioapic].addr = *(u32 *)(e + 4);
                acpi.ioapic[acpi.nioapic].gsi_base = *(u32 *)(e + 8);
                acpi.nioapic++;
            }
            break;
        case 2:
            if (acpi.niso < 16) {
                acpi.iso[acpi.niso].src = e[3];
                acpi.iso[acpi.niso].gsi = *(u32 *)(e + 4);
                acpi.iso[acpi.niso].flags = *(u16 *)(e + 8);
                acpi.niso++;
            }
            break;
        }
    }
}

static void add_sig(const char *s)
{
    size_t l = strlen(sigs);
    if (l + 6 >= sizeof sigs) return;
    if (l) sigs[l++] = ',';
    memcpy(sigs + l, s, 4);
    sigs[l + 4] = 0;
}

static int check_table(u64 a, const char *what)
{
    const struct sdt *t = (const void *)a;
    if (!a || t->len < 36 || t->len > (64u << 20)) { snprintf(err, sizeof err, "%s at 0x%lx: bad length", what, a); return 0; }
    if (sum(t, t->len)) {
        char sg[5]; memcpy(sg, t->sig, 4); sg[4] = 0;
        snprintf(err, sizeof err, "%s at 0x%lx: bad checksum", sg, a);
        return 0;
    }
    return 1;
}

int acpi_init(void)
{
    acpi.s5_typ = -1;
    u64 r = find_rsdp();
    acpi.rsdp = r;
    if (!r) { snprintf(err, sizeof err, "no RSDP"); return 0; }
    const u8 *p = (const u8 *)r;
    if (memcmp(p, "RSD PTR ", 8) || sum(p, 20)) { snprintf(err, sizeof err, "RSDP checksum"); return 0; }
    rsdp_rev = p[15];
    memcpy(oem, p + 9, 6);
    for (int i = 5; i >= 0 && (oem[i] == ' ' || !oem[i]); i--) oem[i] = 0;
    for (int i = 0; oem[i]; i++) if (oem[i] == ' ') oem[i] = '_';
    u64 root = *(u32 *)(p + 16);
    root_is_xsdt = 0;
    if (rsdp_rev >= 2) {
        u32 l = *(u32 *)(p + 20);
        if (l < 36 || sum(p, l)) { snprintf(err, sizeof err, "RSDP extended checksum"); return 0; }
        if (*(u64 *)(p + 24)) { root = *(u64 *)(p + 24); root_is_xsdt = 1; }
    }
    if (!check_table(root, root_is_xsdt ? "XSDT" : "RSDT")) return 0;
    const struct sdt *rt = (const void *)root;
    if (memcmp(rt->sig, root_is_xsdt ? "XSDT" : "RSDT", 4)) { snprintf(err, sizeof err, "root table signature"); return 0; }
    int esz = root_is_xsdt ? 8 : 4;
    int n = (int)(rt->len - 36) / esz;
    u64 dsdt = 0;
    int ok = 1;
    for (int i = 0; i < n; i++) {
        const u8 *ep = (const u8 *)root + 36 + i * esz;
        u64 a = esz == 8 ? *(u64 *)ep : *(u32 *)ep;
        if (!check_table(a, "table")) { ok = 0; continue; }
        const struct sdt *t = (const void *)a;
        add_sig(t->sig);
        if (!memcmp(t->sig, "FACP", 4)) {
            parse_fadt((const u8 *)a, t->len);
            dsdt = *(u32 *)((u8 *)a + 40);
            if (t->len >= 148 && *(u64 *)((u8 *)a + 140)) dsdt = *(u64 *)((u8 *)a + 140);
        } else if (!memcmp(t->sig, "APIC", 4)) {
            parse_madt((const u8 *)a, t->len);
        } else if (!memcmp(t->sig, "SSDT", 4) && acpi.s5_typ < 0) {
            acpi.s5_typ = find_s5((const u8 *)a + 36, t->len - 36);
        }
    }
    if (dsdt) {
        if (!check_table(dsdt, "DSDT")) ok = 0;
        else {
            add_sig("DSDT");
            int s5 = find_s5((const u8 *)dsdt + 36, ((const struct sdt *)dsdt)->len - 36);
            if (s5 >= 0) acpi.s5_typ = s5;
        }
    }
    kinfo.pm1a_cnt = (u16)acpi.pm1a_cnt;
    kinfo.pm1b_cnt = (u16)acpi.pm1b_cnt;
    kinfo.s5_typ = acpi.s5_typ;
    acpi.ok = ok;
    return ok;
}

void test_acpi(void)
{
    if (!acpi.ok) { kprintf("KIT acpi fail %s", err[0] ? err : "unknown"); }
    else {
        kprintf("KIT acpi ok rsdp=0x%lx oem=%s tables=%s", acpi.rsdp, oem, sigs);
        kprintf("KIT acpi-info revision=%d root=%s", rsdp_rev, root_is_xsdt ? "XSDT" : "RSDT");
    }
    if (!acpi.fadt_found) { kprintf("KIT fadt fail no FADT"); return; }
    char reset[48];
    static const char *spaces[] = { "mem", "io", "pci" };
    if (acpi.reset_sup)
        snprintf(reset, sizeof reset, "%s:0x%lx:0x%x", acpi.reset_space < 3 ? spaces[acpi.reset_space] : "other",
                 acpi.reset_addr, acpi.reset_val);
    else
        snprintf(reset, sizeof reset, "none");
    if (acpi.s5_typ < 0) { kprintf("KIT fadt fail no _S5_ package in DSDT/SSDT"); return; }
    if (acpi.hw_reduced) {
        kprintf("KIT fadt fail hw-reduced ACPI: no PM1a_CNT/PM timer (sleep_ctl=0x%lx reset=%s s5=%d)",
                kinfo.sleep_ctl, reset, acpi.s5_typ);
        return;
    }
    if (!acpi.pm1a_cnt) { kprintf("KIT fadt fail no PM1a_CNT"); return; }
    kprintf("KIT fadt ok pm_tmr=0x%x pm1a_cnt=0x%x reset=%s s5=%d", acpi.pm_tmr, acpi.pm1a_cnt, reset, acpi.s5_typ);
}

void acpi_poweroff(void)
{
    if (acpi.s5_typ < 0) { kprintf("KIT exit fail no ACPI S5, halting"); kit_syscall(SYS_PARK, 0); }
    u16 v = (u16)((acpi.s5_typ & 7) << 10) | (1 << 13);
    if (acpi.pm1a_cnt) outw((u16)acpi.pm1a_cnt, v);
    if (acpi.pm1b_cnt) outw((u16)acpi.pm1b_cnt, v);
    if (kinfo.sleep_ctl) {
        u8 sv = (u8)(((acpi.s5_typ & 7) << 2) | (1 << 5));
        if (kinfo.sleep_ctl_io) outb((u16)kinfo.sleep_ctl, sv);
        else *(volatile u8 *)kinfo.sleep_ctl = sv;
    }
    udelay(500000);
    kprintf("KIT exit fail still running after S5, halting");
    kit_syscall(SYS_PARK, 0);
}
