/*
 * Boot sector + Linux boot protocol header + real-mode setup.
 * Linked at VMA 0 (offsets within the setup segment).  A 16-bit loader
 * (QEMU -kernel on -M pc, GRUB linux16) jumps to setup_seg+0x20:0 with
 * ds = es = ss = setup_seg.  We build a zero page, query E820 from the BIOS,
 * enter protected mode and jump to code32_start with %esi = zero page.
 */
#include "kitdefs.h"

#define ZP          0x4000      /* zero page we build, offset in the setup segment */
#define STACK_TOP   0x7ff0

    .section .setup, "ax"
    .code16
    .globl _setup_start
_setup_start:
    /* Booted as a disk: nothing to do. */
    cli
1:  hlt
    jmp 1b

    .org 0x1f1
hdr:
setup_sects:    .byte setup_sects_val
root_flags:     .word 0
syssize:        .long syssize_val
ram_size:       .word 0
vid_mode:       .word 0xffff
root_dev:       .word 0
boot_flag:      .word 0xaa55
    .org 0x200
    .byte 0xeb, start_of_setup - 1f     /* jmp short start_of_setup */
1:
    .ascii "HdrS"
    .word 0x020f                /* protocol 2.15 */
    .long 0                     /* realmode_swtch */
    .word 0x1000                /* start_sys_seg */
    .word kernel_version - 0x200
    .byte 0                     /* type_of_loader */
    .byte 0x01                  /* loadflags: LOADED_HIGH */
    .word 0x8000                /* setup_move_size */
code32_start:
    .long KERNEL_BASE           /* code32_start */
    .long 0                     /* ramdisk_image */
    .long 0                     /* ramdisk_size */
    .long 0                     /* bootsect_kludge */
    .word 0                     /* heap_end_ptr */
    .byte 0                     /* ext_loader_ver */
    .byte 0                     /* ext_loader_type */
    .long 0                     /* cmd_line_ptr */
    .long 0x7fffffff            /* initrd_addr_max */
    .long 0x200000              /* kernel_alignment */
    .byte 0                     /* relocatable_kernel */
    .byte 21                    /* min_alignment */
    .word 0x0001                /* xloadflags: XLF_KERNEL_64 (64-bit entry at +0x200) */
    .long 4095                  /* cmdline_size */
    .long 0                     /* hardware_subarch */
    .quad 0                     /* hardware_subarch_data */
    .long 0                     /* payload_offset */
    .long 0                     /* payload_length */
    .quad 0                     /* setup_data */
    .quad KERNEL_BASE           /* pref_address */
    .long init_size_val         /* init_size */
    .long 0                     /* handover_offset */
    .long 0                     /* kernel_info_offset */
    .org 0x26c

start_of_setup:
    cli
    cld
    movw %ds, %ax
    movw %ax, %es
    movw %ax, %ss
    movw $STACK_TOP, %sp
    /* make cs == ds so that offsets are link addresses */
    pushw %ds
    pushw $2f
    lretw
2:
    /* zero page: clear it, copy the header the loader filled in */
    movw $ZP, %di
    xorl %eax, %eax
    movw $1024, %cx
    rep stosl
    movw $0x1f1, %si
    movw $ZP + 0x1f1, %di
    movw $(0x270 - 0x1f1), %cx
    rep movsb

    /* E820 from the BIOS, straight into the zero page */
    xorl %ebx, %ebx
    xorw %bp, %bp
    movw $ZP + 0x2d0, %di
3:  movl $0xe820, %eax
    movl $0x534d4150, %edx
    movl $20, %ecx
    int $0x15
    jc 4f
    cmpl $0x534d4150, %eax
    jne 4f
    incw %bp
    addw $20, %di
    testl %ebx, %ebx
    jz 4f
    cmpw $128, %bp
    jb 3b
4:  movw %bp, %ax
    movb %al, ZP + 0x1e8

    /* fast A20 */
    inb $0x92, %al
    orb $2, %al
    andb $0xfe, %al
    outb %al, $0x92

    /* linear addresses */
    xorl %ebx, %ebx
    movw %ds, %bx
    shll $4, %ebx
    leal gdt(%ebx), %eax
    movl %eax, gdt_desc + 2
    lgdtl gdt_desc
    movl code32_start, %eax
    movl %eax, jmp_target
    leal ZP(%ebx), %esi

    movl %cr0, %eax
    orl $1, %eax
    movl %eax, %cr0
    movw $0x18, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movw %ax, %fs
    movw %ax, %gs
    .byte 0x66, 0xea            /* ljmpl $0x10, jmp_target */
jmp_target:
    .long 0
    .word 0x10

    .balign 8
gdt:
    .quad 0
    .quad 0
    .quad 0x00cf9b000000ffff    /* 0x10: flat 32-bit code, accessed */
    .quad 0x00cf93000000ffff    /* 0x18: flat data, accessed */
gdt_desc:
    .word 31
    .long 0

kernel_version:
    .asciz "apiary-kit " KIT_VERSION
