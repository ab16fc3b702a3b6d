/*
 * AP start-up trampoline: copied to TRAMP_BASE (below 1 MiB) by the BSP, entered
 * through SIPI in real mode at TRAMP_BASE>>4:0.  Real -> protected -> long mode
 * on the BSP's page tables, then ap_entry64 in the kernel image.
 */
#include "kitdefs.h"

    .section .rodata, "a"
    .code16
    .balign 16
    .globl tramp_start, tramp_end
tramp_start:
    cli
    cld
    movw %cs, %ax
    movw %ax, %ds
    lgdtl tramp_gdt_desc - tramp_start
    movl %cr0, %eax
    orl $1, %eax
    movl %eax, %cr0
    ljmpl $0x08, $(TRAMP_BASE + tramp32 - tramp_start)
    .code32
tramp32:
    movl $0x18, %eax
    movl %eax, %ds
    movl %eax, %es
    movl %eax, %ss
    movl %cr4, %eax
    orl $0x20, %eax
    movl %eax, %cr4
    movl $pml4, %eax
    movl %eax, %cr3
    movl $0xc0000080, %ecx
    rdmsr
    orl $0x100, %eax
    wrmsr
    movl %cr0, %eax
    orl $0x80000001, %eax
    movl %eax, %cr0
    ljmp $0x10, $ap_entry64
    .balign 8
tramp_gdt:
    .quad 0
    .quad 0x00cf9b000000ffff    /* 0x08 code 32 */
    .quad 0x00af9b000000ffff    /* 0x10 code 64 */
    .quad 0x00cf93000000ffff    /* 0x18 data */
tramp_gdt_desc:
    .word 31
    .long TRAMP_BASE + tramp_gdt - tramp_start
tramp_end:
