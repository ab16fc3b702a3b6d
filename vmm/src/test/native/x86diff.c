/*
 * The oracle of the software CPU's differential tests (dev.apiary.vmm.x86.X86DiffTest): runs instruction
 * bytes natively in 64-bit user mode and prints the registers, flags and memory they leave, or the
 * exception they raise. Built by the test with gcc into target/ (never checked in as a binary).
 *
 * Input, one case per line on stdin:   C <code hex> <rflags> <16 GPRs, RAX..R15, hex> <data hex> <fxsave hex>
 * Output, one line per case:           R <rflags> <16 GPRs> <data hex> <stack hex> <fxsave hex>
 *                                  or  E <vector> <faulting rip> <rflags> <16 GPRs at the fault> <fxsave hex>
 *
 * The x87/SSE state a case starts from is loaded with FXRSTOR64 right before its first instruction and saved
 * with FXSAVE64 right after its last (or taken from the signal frame at a fault); the harness's own state is
 * saved and restored around the case, so a case's control words never reach the C code.
 *
 * The case's bytes run at CODE, followed by an absolute indirect jump back to the harness. Memory operands
 * of the generated cases point into DATA (512 bytes) and the stack at STACK_TOP; both live at the same
 * linear addresses in the emulator's identity-mapped test memory, so RIP-relative forms, pushes and string
 * instructions see the same addresses in both worlds. Exceptions come back as signals; the kernel's
 * trap number in the signal context names the vector (#DE 0, #UD 6, #GP 13, #PF 14, #AC 17).
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#define CODE 0x100000UL
#define CODE_SIZE 0x10000UL
#define DATA 0x200000UL
#define DATA_SIZE 512
#define STACK 0x300000UL
#define STACK_SIZE 0x10000UL
#define STACK_TOP 0x308000UL
#define STACK_SHOWN 128
#define CTX 0x400000UL

/* The context page, at fixed absolute addresses that the trampoline below names directly. */
struct ctx {
    uint64_t in[16];     /* 0x000 */
    uint64_t in_flags;   /* 0x080 */
    uint64_t entry;      /* 0x088 */
    uint64_t exit_ptr;   /* 0x090 */
    uint64_t host_rsp;   /* 0x098 */
    uint64_t pad[12];
    uint64_t out[16];    /* 0x100 */
    uint64_t out_flags;  /* 0x180 */
    uint64_t pad2[15];
    unsigned char fx_in[512];   /* 0x200: FXSAVE image the case starts from */
    unsigned char fx_out[512];  /* 0x400: FXSAVE image after the case */
    unsigned char fx_host[512]; /* 0x600: the harness's own x87/SSE state */
};

void run_case(void);
void case_exit(void);

__asm__(
    ".text\n"
    ".globl run_case\n"
    "run_case:\n"
    "  push %rbx\n push %rbp\n push %r12\n push %r13\n push %r14\n push %r15\n"
    "  mov %rsp, 0x400098\n"
    "  fxsave64 0x400600\n"
    "  fxrstor64 0x400200\n"
    "  pushq 0x400080\n"
    "  popfq\n"
    "  mov 0x400000, %rax\n mov 0x400008, %rcx\n mov 0x400010, %rdx\n mov 0x400018, %rbx\n"
    "  mov 0x400020, %rsp\n mov 0x400028, %rbp\n mov 0x400030, %rsi\n mov 0x400038, %rdi\n"
    "  mov 0x400040, %r8\n mov 0x400048, %r9\n mov 0x400050, %r10\n mov 0x400058, %r11\n"
    "  mov 0x400060, %r12\n mov 0x400068, %r13\n mov 0x400070, %r14\n mov 0x400078, %r15\n"
    "  jmp *0x400088\n"
    ".globl case_exit\n"
    "case_exit:\n"
    "  fxsave64 0x400400\n"
    "  mov %rax, 0x400100\n mov %rcx, 0x400108\n mov %rdx, 0x400110\n mov %rbx, 0x400118\n"
    "  mov %rsp, 0x400120\n mov %rbp, 0x400128\n mov %rsi, 0x400130\n mov %rdi, 0x400138\n"
    "  mov %r8, 0x400140\n mov %r9, 0x400148\n mov %r10, 0x400150\n mov %r11, 0x400158\n"
    "  mov %r12, 0x400160\n mov %r13, 0x400168\n mov %r14, 0x400170\n mov %r15, 0x400178\n"
    "  mov 0x400098, %rsp\n"
    "  pushfq\n"
    "  popq 0x400180\n"
    "  cld\n"
    "  fxrstor64 0x400600\n"
    "  pop %r15\n pop %r14\n pop %r13\n pop %r12\n pop %rbp\n pop %rbx\n"
    "  ret\n");

static sigjmp_buf fault_jump;
static volatile long fault_vector, fault_rip, fault_flags;
static uint64_t fault_regs[16];
static unsigned char fault_fx[512];

static void on_fault(int sig, siginfo_t *info, void *uc_) {
    (void) sig;
    (void) info;
    ucontext_t *uc = uc_;
    greg_t *g = uc->uc_mcontext.gregs;
    fault_vector = g[REG_TRAPNO];
    fault_rip = g[REG_RIP];
    fault_flags = g[REG_EFL];
    const int order[16] = {REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP, REG_RSI, REG_RDI,
                           REG_R8,  REG_R9,  REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15};
    for (int i = 0; i < 16; i++) fault_regs[i] = g[order[i]];
    if (uc->uc_mcontext.fpregs) memcpy(fault_fx, uc->uc_mcontext.fpregs, 512);
    else memset(fault_fx, 0, 512);
    siglongjmp(fault_jump, 1);
}

/* A case that never reaches its end (a generator bug) is reported as vector 256 instead of hanging. */
static void on_alarm(int sig) {
    (void) sig;
    fault_vector = 256;
    fault_rip = 0;
    fault_flags = 0;
    memset(fault_regs, 0, sizeof fault_regs);
    siglongjmp(fault_jump, 1);
}

static void *map_fixed(unsigned long addr, unsigned long size, int prot) {
    void *p = mmap((void *) addr, size, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (p != (void *) addr) {
        fprintf(stderr, "x86diff: cannot map %#lx\n", addr);
        exit(2);
    }
    return p;
}

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Parses hex into out (at most max bytes); returns the byte count or -1. */
static long parse_hex(const char *s, unsigned char *out, long max) {
    long n = 0;
    while (s[0] && s[0] != ' ' && s[0] != '\n') {
        int hi = hexval(s[0]), lo = hexval(s[1]);
        if (hi < 0 || lo < 0 || n >= max) return -1;
        out[n++] = (unsigned char) (hi << 4 | lo);
        s += 2;
    }
    return n;
}

static void print_hex(const unsigned char *p, long n) {
    for (long i = 0; i < n; i++) printf("%02x", p[i]);
}

int main(void) {
    unsigned char *code = map_fixed(CODE, CODE_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC);
    unsigned char *data = map_fixed(DATA, 0x1000, PROT_READ | PROT_WRITE);
    unsigned char *stack = map_fixed(STACK, STACK_SIZE, PROT_READ | PROT_WRITE);
    struct ctx *ctx = map_fixed(CTX, 0x1000, PROT_READ | PROT_WRITE);
    ctx->exit_ptr = (uint64_t) case_exit;
    ctx->entry = CODE;

    stack_t alt = {.ss_sp = malloc(1 << 16), .ss_size = 1 << 16};
    sigaltstack(&alt, NULL);
    struct sigaction sa = {0};
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    int sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP};
    for (unsigned i = 0; i < sizeof sigs / sizeof sigs[0]; i++) sigaction(sigs[i], &sa, NULL);

    signal(SIGALRM, on_alarm);
    static char line[1 << 16];
    while (fgets(line, sizeof line, stdin)) {
        if (line[0] != 'C') continue;
        char *p = line + 2;
        long n = parse_hex(p, code, CODE_SIZE - 16);
        if (n < 0) {
            fprintf(stderr, "x86diff: bad code in %s", line);
            return 2;
        }
        /* jmp *(exit_ptr): FF 24 25 disp32, absolute */
        unsigned char jmp[7] = {0xff, 0x24, 0x25, 0x90, 0x00, 0x40, 0x00};
        memcpy(code + n, jmp, sizeof jmp);
        p = strchr(p, ' ');
        char *end;
        ctx->in_flags = strtoull(p, &end, 16);
        for (int i = 0; i < 16; i++) ctx->in[i] = strtoull(end, &end, 16);
        memset(data, 0, 0x1000);
        while (*end == ' ') end++;
        if (parse_hex(end, data, DATA_SIZE) < 0) {
            fprintf(stderr, "x86diff: bad data in %s", line);
            return 2;
        }
        end = strchr(end, ' ');
        if (!end || parse_hex(end + 1, ctx->fx_in, 512) != 512) {
            fprintf(stderr, "x86diff: bad fxsave image in %s", line);
            return 2;
        }
        memset(stack, 0, STACK_SIZE);
        __builtin___clear_cache((char *) code, (char *) code + n + sizeof jmp);

        if (sigsetjmp(fault_jump, 1) == 0) {
            alarm(5);
            run_case();
            alarm(0);
            printf("R %llx", (unsigned long long) ctx->out_flags);
            for (int i = 0; i < 16; i++) printf(" %llx", (unsigned long long) ctx->out[i]);
            putchar(' ');
            print_hex(data, DATA_SIZE);
            putchar(' ');
            print_hex((unsigned char *) STACK_TOP - STACK_SHOWN, STACK_SHOWN);
            putchar(' ');
            print_hex(ctx->fx_out, 512);
            putchar('\n');
        } else {
            alarm(0);
            printf("E %ld %lx %lx", fault_vector, fault_rip, fault_flags);
            for (int i = 0; i < 16; i++) printf(" %llx", (unsigned long long) fault_regs[i]);
            putchar(' ');
            print_hex(fault_fx, 512);
            putchar('\n');
        }
    }
    return 0;
}
