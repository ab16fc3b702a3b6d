/* The zero page the loader handed over: header facts and the E820 map. */
#include "kit.h"

void test_bootparams(void)
{
    if (BP32(bootparams, BP_HEADER) != 0x53726448) { kprintf("KIT bootparams fail no HdrS in the zero page"); return; }
    u16 ver = BP16(bootparams, BP_VERSION);
    if (ver < 0x200) { kprintf("KIT bootparams fail protocol 0x%x too old", ver); return; }
    u64 cl = BP32(bootparams, BP_CMDLINE_PTR) | ((u64)BP32(bootparams, BP_EXT_CMDLINE) << 32);
    if (!cl) { kprintf("KIT bootparams fail no command line"); return; }
    u64 rd = BP32(bootparams, BP_RAMDISK_IMAGE) | ((u64)BP32(bootparams, BP_EXT_RAMDISK_IMG) << 32);
    u64 rs = BP32(bootparams, BP_RAMDISK_SIZE) | ((u64)BP32(bootparams, BP_EXT_RAMDISK_SIZE) << 32);
    kprintf("KIT bootparams ok protocol=0x%x cmdline_len=%lu initrd=0x%lx,%lu", ver, strlen(cmdline), rd, rs);
}

void test_e820(void)
{
    int n = BP8(bootparams, BP_E820_ENTRIES);
    const struct e820_entry *e = (const struct e820_entry *)(bootparams + BP_E820_TABLE);
    if (n == 0) { kprintf("KIT e820 fail no entries"); return; }
    if (n > E820_MAX) { kprintf("KIT e820 fail %d entries (max %d)", n, E820_MAX); return; }
    u64 ram = 0;
    for (int i = 0; i < n; i++)
        if (e[i].type == 1) ram += e[i].size;
    if (!ram) { kprintf("KIT e820 fail no usable RAM"); return; }
    kprintf("KIT e820 ok entries=%d ram=%lu", n, ram);
    for (int i = 0; i < n; i++)
        kprintf("KIT e820-entry 0x%lx 0x%lx %u", e[i].addr, e[i].size, e[i].type);
}
