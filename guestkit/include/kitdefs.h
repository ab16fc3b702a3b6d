/* Constants shared by C and assembly. */
#ifndef KITDEFS_H
#define KITDEFS_H

#define KIT_VERSION     "0.1.0"
#define KERNEL_BASE     0x100000
#define MAXCPU          32
#define KSTACK_SIZE     8192            /* CPL0 stack per CPU */
#define KSTACK_SHIFT    13
#define USTACK_SIZE     32768           /* CPL3 stack per CPU */
#define NPD             64              /* 2 MiB page directories: 64 GiB if 1 GiB pages are missing */
#define TRAMP_BASE      0x8000          /* AP trampoline page (SIPI vector 0x08) */

/* GDT selectors */
#define SEL_KCODE32     0x08
#define SEL_KCODE       0x10
#define SEL_KDATA       0x18
#define SEL_UCODE32     0x20
#define SEL_UDATA       0x28
#define SEL_UCODE       0x30
#define SEL_TSS0        0x38            /* + 16 * cpu */

/* interrupt vectors */
#define VEC_TIMER       0x30
#define VEC_UART        0x31
#define VEC_WAKE        0x32            /* IPI that wakes an AP waiting for work */
#define VEC_DYN_BASE    0x40            /* 0x40-0xef: device vectors (NVMe MSI-X), counted per vector */
#define VEC_DYN_END     0xf0
#define VEC_SYSCALL     0x80
#define VEC_SPURIOUS    0xff

/* syscalls (int $0x80, number in rax, argument in rdi, result in rax) */
#define SYS_NOP         0
#define SYS_PARK        1               /* cli; hlt forever (APs, kit.exit=halt) */
#define SYS_TRIPLEFAULT 2               /* zero-length IDT + ud2 */
#define SYS_WAIT_IRQ    3               /* sti; hlt; cli: sleep until the next interrupt */
#define SYS_RDMSR       4
#define SYS_WAIT_CHANGE 5               /* rdi = u32 *, rsi = old: sti; hlt; cli only if *rdi == old */

#endif
