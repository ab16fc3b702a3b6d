/*
 * Protected-mode part, loaded at 1 MiB.
 *   +0x000  startup_32: 32-bit boot protocol entry (%esi = zero page, flat segments, paging off)
 *   +0x200  startup_64: 64-bit boot protocol entry (%rsi = zero page, long mode, identity map)
 */
#include "kitdefs.h"

    .section .head, "ax"
    .code32
    .globl startup_32
startup_32:
    cli
    cld
    lgdt gdt_desc
    ljmp $SEL_KCODE32, $1f
1:  movl $SEL_KDATA, %eax
    movl %eax, %ds
    movl %eax, %es
    movl %eax, %ss
    movl %eax, %fs
    movl %eax, %gs
    /* temporary page tables: first 4 GiB with 2 MiB pages */
    movl $boot_pml4, %edi
    xorl %eax, %eax
    movl $2048, %ecx            /* boot_pml4 + boot_pdpt: 8 KiB */
    rep stosl
    movl $boot_pd, %edi
    movl $0x83, %eax
    movl $2048, %ecx
2:  movl %eax, (%edi)
    movl $0, 4(%edi)
    addl $0x200000, %eax
    addl $8, %edi
    decl %ecx
    jnz 2b
    movl $boot_pd + 0x0003, boot_pdpt
    movl $boot_pd + 0x1003, boot_pdpt + 8
    movl $boot_pd + 0x2003, boot_pdpt + 16
    movl $boot_pd + 0x3003, boot_pdpt + 24
    movl $boot_pdpt + 3, boot_pml4
    movl %cr4, %eax
    orl $0x20, %eax             /* PAE */
    movl %eax, %cr4
    movl $boot_pml4, %eax
    movl %eax, %cr3
    movl $0xc0000080, %ecx      /* EFER.LME */
    rdmsr
    orl $0x100, %eax
    wrmsr
    movl %cr0, %eax
    orl $0x80000001, %eax
    movl %eax, %cr0
    ljmp $SEL_KCODE, $startup_64

    .code64
    .org 0x200
    .globl startup_64
startup_64:
    cli
    cld
    lgdt gdt_desc(%rip)
    movl $SEL_KDATA, %eax
    movl %eax, %ds
    movl %eax, %es
    movl %eax, %ss
    xorl %eax, %eax
    movl %eax, %fs
    movl %eax, %gs
    leaq kstacks + KSTACK_SIZE(%rip), %rsp
    pushq $SEL_KCODE
    leaq 1f(%rip), %rax
    pushq %rax
    lretq
1:  movq %rsi, %rdi
    call kmain0
2:  hlt
    jmp 2b

/* APs arrive here from the trampoline, in long mode on the final page tables. */
    .text
    .globl ap_entry64
ap_entry64:
    lgdt gdt_desc(%rip)
    movl $SEL_KDATA, %eax
    movl %eax, %ds
    movl %eax, %es
    movl %eax, %ss
    xorl %eax, %eax
    movl %eax, %fs
    movl %eax, %gs
    movl $1, %eax
    lock xaddl %eax, kinfo_ap_next(%rip)
    movl %eax, %edi
    movq %rdi, %rbx
    shlq $KSTACK_SHIFT, %rbx
    leaq kstacks + KSTACK_SIZE(%rip), %rsp
    addq %rbx, %rsp
    pushq $SEL_KCODE
    leaq 1f(%rip), %rax
    pushq %rax
    lretq
1:  call ap_main0
2:  hlt
    jmp 2b

/* enter_user(entry, user_stack_top, arg): iretq to CPL3 with IF=1 */
    .globl enter_user
enter_user:
    movl $(SEL_UDATA | 3), %eax
    movl %eax, %ds
    movl %eax, %es
    pushq $(SEL_UDATA | 3)
    pushq %rsi
    pushq $0x202
    pushq $(SEL_UCODE | 3)
    pushq %rdi
    movq %rdx, %rdi
    xorl %eax, %eax
    xorl %ebx, %ebx
    xorl %ecx, %ecx
    xorl %edx, %edx
    xorl %esi, %esi
    xorl %ebp, %ebp
    xorl %r8d, %r8d
    xorl %r9d, %r9d
    xorl %r10d, %r10d
    xorl %r11d, %r11d
    iretq

/*
 * #GP fast path: IN/OUT from CPL3 (IOPL is not honoured on this host), done in a
 * dozen instructions because every CPL0 instruction is emulated here.  Forms:
 * E4-E7 (imm8 port), EC-EF (port in dx); anything else (0x66 forms included)
 * goes to the C path in trap_dispatch.
 */
    .globl gp_entry
gp_entry:                       /* err, rip, cs, rflags, rsp, ss */
    testb $3, 16(%rsp)
    jz 8f
    pushq %rax                  /* 16(%rsp) */
    pushq %rdx                  /* 8(%rsp)  */
    pushq %rsi                  /* 0(%rsp); err at 24, rip at 32 */
    movq 32(%rsp), %rsi
    movzbl (%rsi), %eax
    cmpb $0xe4, %al
    jb 7f
    cmpb $0xe7, %al
    jbe 2f
    cmpb $0xec, %al
    jb 7f
    cmpb $0xef, %al
    ja 7f
    movq $1, %rsi               /* length */
    jmp 3f
2:  movzbl 1(%rsi), %edx        /* imm8 port */
    movq $2, %rsi
3:  testb $2, %al
    jnz 5f
    testb $1, %al
    jnz 4f
    inb %dx, %al                /* in al */
    movb %al, 16(%rsp)
    jmp 6f
4:  inl %dx, %eax               /* in eax (zero-extends) */
    movq %rax, 16(%rsp)
    jmp 6f
5:  testb $1, %al
    movq 16(%rsp), %rax
    jnz 51f
    outb %al, %dx
    jmp 6f
51: outl %eax, %dx
6:  addq %rsi, 32(%rsp)
    popq %rsi
    popq %rdx
    popq %rax
    addq $8, %rsp
    iretq
7:  popq %rsi
    popq %rdx
    popq %rax
8:  pushq $13
    jmp trap_common

/* syscall probe: returns straight to CPL3 (rcx = rip, r11 = rflags) */
    .globl sysret_probe
sysret_probe:
    sysretq

/* 256 trap stubs, 16 bytes apart: push error code (if the CPU did not), vector */
    .balign 16
    .globl trap_stubs
trap_stubs:
    vec = 0
    .rept 256
    .balign 16
    .if (vec == 8) || (vec == 10) || (vec == 11) || (vec == 12) || (vec == 13) || (vec == 14) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
    .else
    pushq $0
    .endif
    pushq $vec
    jmp trap_common
    vec = vec + 1
    .endr

trap_common:
    pushq %rax
    pushq %rbx
    pushq %rcx
    pushq %rdx
    pushq %rsi
    pushq %rdi
    pushq %rbp
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, %rdi
    call trap_dispatch
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %r11
    popq %r10
    popq %r9
    popq %r8
    popq %rbp
    popq %rdi
    popq %rsi
    popq %rdx
    popq %rcx
    popq %rbx
    popq %rax
    addq $16, %rsp
    iretq

    .data
    .balign 16
    .globl gdt
gdt:
    .quad 0
    .quad 0x00cf9b000000ffff    /* 0x08 kernel code 32 */
    .quad 0x00af9b000000ffff    /* 0x10 kernel code 64 */
    .quad 0x00cf93000000ffff    /* 0x18 kernel data */
    .quad 0x00cffb000000ffff    /* 0x20 user code 32 (sysret layout) */
    .quad 0x00cff3000000ffff    /* 0x28 user data */
    .quad 0x00affb000000ffff    /* 0x30 user code 64 */
    .fill 2 * MAXCPU, 8, 0      /* 0x38: one 16-byte TSS descriptor per CPU */
gdt_end:
    .balign 8
    .word 0
gdt_desc:
    .word gdt_end - gdt - 1
    .quad gdt

/* Never cleared by anyone: written completely before use. */
    .section .noinit, "aw", @nobits
    .balign 4096
    .globl pml4, pdpt, pds, kstacks, ustacks, idt, tss
pml4:       .skip 4096
pdpt:       .skip 4096
pds:        .skip 4096 * NPD
boot_pml4:  .skip 4096
boot_pdpt:  .skip 4096
boot_pd:    .skip 4096 * 4
idt:        .skip 4096
kstacks:    .skip KSTACK_SIZE * MAXCPU
ustacks:    .skip USTACK_SIZE * MAXCPU
tss:        .skip 128 * MAXCPU
