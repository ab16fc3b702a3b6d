/*
 * entry64: a minimal KVM loader that starts apiary-kit.bzImage at its 64-bit entry the way
 * Apiary's VMM does (long mode, identity map of the first 4 GiB, %rsi = zero page, GDT with
 * code 0x10 / data 0x18, IF=0).  One vCPU, 256 MiB, COM1 output to stdout, no ACPI/PCI.
 * Exits when the guest writes 0xCF9, halts or shuts down.  Test aid only: make entry64-check
 */
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define MEM (256ul << 20)
#define ZP 0x7000
#define CMDLINE 0x20000
#define PML4 0x9000

static void die(const char *m) { perror(m); exit(2); }

int main(int argc, char **argv)
{
    if (argc < 3) { fprintf(stderr, "usage: entry64 bzImage cmdline\n"); return 2; }
    FILE *f = fopen(argv[1], "rb");
    if (!f) die("bzImage");
    static uint8_t img[8 << 20];
    size_t n = fread(img, 1, sizeof img, f);
    fclose(f);
    int kvm = open("/dev/kvm", O_RDWR);
    if (kvm < 0) die("/dev/kvm");
    int vm = ioctl(kvm, KVM_CREATE_VM, 0);
    if (vm < 0) die("KVM_CREATE_VM");
    ioctl(vm, KVM_SET_TSS_ADDR, 0xfffbd000ul);
    if (ioctl(vm, KVM_CREATE_IRQCHIP, 0) < 0) die("KVM_CREATE_IRQCHIP");
    uint8_t *ram = mmap(NULL, MEM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    struct kvm_userspace_memory_region r = { .slot = 0, .guest_phys_addr = 0, .memory_size = MEM, .userspace_addr = (uint64_t)ram };
    if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r) < 0) die("KVM_SET_USER_MEMORY_REGION");

    size_t setup = ((size_t)(img[0x1f1] ? img[0x1f1] : 4) + 1) * 512;
    memcpy(ram + 0x100000, img + setup, n - setup);
    uint8_t *zp = ram + ZP;
    memcpy(zp + 0x1f1, img + 0x1f1, 0x270 - 0x1f1);
    zp[0x210] = 0xff;                                   /* type_of_loader */
    *(uint32_t *)(zp + 0x228) = CMDLINE;
    strcpy((char *)ram + CMDLINE, argv[2]);
    struct { uint64_t a, s; uint32_t t; } __attribute__((packed)) e820[] = {
        { 0, 0x9fc00, 1 }, { 0x9fc00, 0x400, 2 }, { 0xf0000, 0x10000, 2 }, { 0x100000, MEM - 0x100000, 1 } };
    memcpy(zp + 0x2d0, e820, sizeof e820);
    zp[0x1e8] = sizeof e820 / sizeof e820[0];

    uint64_t *pml4 = (uint64_t *)(ram + PML4), *pdpt = (uint64_t *)(ram + PML4 + 0x1000);
    uint64_t *pd = (uint64_t *)(ram + PML4 + 0x2000);
    pml4[0] = (PML4 + 0x1000) | 3;
    for (int i = 0; i < 4; i++) pdpt[i] = (PML4 + 0x2000 + i * 0x1000) | 3;
    for (uint64_t i = 0; i < 2048; i++) pd[i] = (i << 21) | 0x83;
    uint64_t *gdt = (uint64_t *)(ram + 0x500);
    gdt[2] = 0x00af9b000000ffff;
    gdt[3] = 0x00cf93000000ffff;

    int cpu = ioctl(vm, KVM_CREATE_VCPU, 0);
    if (cpu < 0) die("KVM_CREATE_VCPU");
    struct { struct kvm_cpuid2 c; struct kvm_cpuid_entry2 e[100]; } cid = { .c.nent = 100 };
    if (ioctl(kvm, KVM_GET_SUPPORTED_CPUID, &cid) < 0) die("KVM_GET_SUPPORTED_CPUID");
    if (ioctl(cpu, KVM_SET_CPUID2, &cid) < 0) die("KVM_SET_CPUID2");
    int runsz = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    struct kvm_run *run = mmap(NULL, runsz, PROT_READ | PROT_WRITE, MAP_SHARED, cpu, 0);
    struct kvm_sregs s;
    ioctl(cpu, KVM_GET_SREGS, &s);
    struct kvm_segment cs = { .base = 0, .limit = 0xffffffff, .selector = 0x10, .type = 11, .present = 1, .s = 1, .l = 1, .g = 1 };
    struct kvm_segment ds = { .base = 0, .limit = 0xffffffff, .selector = 0x18, .type = 3, .present = 1, .s = 1, .db = 1, .g = 1 };
    s.cs = cs; s.ds = s.es = s.fs = s.gs = s.ss = ds;
    s.gdt.base = 0x500; s.gdt.limit = 31;
    s.cr0 = 0x80000011; s.cr3 = PML4; s.cr4 = 0x20; s.efer = 0x500;
    if (ioctl(cpu, KVM_SET_SREGS, &s) < 0) die("KVM_SET_SREGS");
    struct kvm_regs g = { .rip = 0x100200, .rsi = ZP, .rflags = 2, .rsp = 0x8ff0 };
    if (ioctl(cpu, KVM_SET_REGS, &g) < 0) die("KVM_SET_REGS");

    for (;;) {
        if (ioctl(cpu, KVM_RUN, 0) < 0) die("KVM_RUN");
        switch (run->exit_reason) {
        case KVM_EXIT_IO: {
            uint8_t *d = (uint8_t *)run + run->io.data_offset;
            if (run->io.direction == KVM_EXIT_IO_OUT) {
                if (run->io.port == 0x3f8) { fwrite(d, 1, run->io.count * run->io.size, stdout); fflush(stdout); }
                if (run->io.port == 0xcf9 && (d[0] & 4)) { printf("[entry64: reset via 0xcf9]\n"); return 0; }
            } else {
                uint32_t v = run->io.port == 0x3fd ? 0x60 : run->io.port == 0x3fa ? 0xc1 : 0xffffffff;
                memcpy(d, &v, run->io.size);
            }
            break;
        }
        case KVM_EXIT_MMIO:
            if (!run->mmio.is_write) memset(run->mmio.data, 0xff, 8);
            break;
        case KVM_EXIT_HLT: printf("[entry64: hlt]\n"); return 0;
        case KVM_EXIT_SHUTDOWN: printf("[entry64: shutdown (triple fault)]\n"); return 0;
        default: printf("[entry64: exit reason %u]\n", run->exit_reason); return 1;
        }
    }
}
