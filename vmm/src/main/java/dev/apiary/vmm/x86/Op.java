package dev.apiary.vmm.x86;

/** What a decoded instruction does: the execute handler the interpreter dispatches on, grouped by family. */
enum Op {
    // binary arithmetic and logic (the order of the first eight is the encoding's /digit order)
    ADD(Family.ALU), OR(Family.ALU), ADC(Family.ALU), SBB(Family.ALU), AND(Family.ALU), SUB(Family.ALU),
    XOR(Family.ALU), CMP(Family.ALU), TEST(Family.ALU),
    INC(Family.ALU), DEC(Family.ALU), NOT(Family.ALU), NEG(Family.ALU),
    // shifts and rotates (the first eight in /digit order of C0/C1/D0-D3)
    ROL(Family.SHIFT), ROR(Family.SHIFT), RCL(Family.SHIFT), RCR(Family.SHIFT), SHL(Family.SHIFT),
    SHR(Family.SHIFT), SAL(Family.SHIFT), SAR(Family.SHIFT), SHLD(Family.SHIFT), SHRD(Family.SHIFT),
    MUL(Family.MULDIV), IMUL1(Family.MULDIV), DIV(Family.MULDIV), IDIV(Family.MULDIV), IMUL2(Family.MULDIV),
    IMUL3(Family.MULDIV),
    DAA(Family.MULDIV), DAS(Family.MULDIV), AAA(Family.MULDIV), AAS(Family.MULDIV), AAM(Family.MULDIV),
    AAD(Family.MULDIV),
    // data movement
    MOV(Family.MOVE), MOVZX(Family.MOVE), MOVSX(Family.MOVE), MOVSXD(Family.MOVE), LEA(Family.MOVE),
    XCHG(Family.MOVE), XADD(Family.MOVE), CMPXCHG(Family.MOVE), CMPXCHG8B(Family.MOVE), CMOV(Family.MOVE),
    SETCC(Family.MOVE), BSWAP(Family.MOVE), CBW(Family.MOVE), CWD(Family.MOVE), XLAT(Family.MOVE),
    LAHF(Family.MOVE), SAHF(Family.MOVE), PUSH(Family.MOVE), POP(Family.MOVE), PUSHA(Family.MOVE),
    POPA(Family.MOVE), PUSHF(Family.MOVE), POPF(Family.MOVE), PUSH_SEG(Family.MOVE), POP_SEG(Family.MOVE),
    MOV_FROM_SEG(Family.MOVE), MOV_TO_SEG(Family.MOVE), ENTER(Family.MOVE), LEAVE(Family.MOVE),
    LOAD_FAR(Family.MOVE), NOP(Family.MOVE), MOVBE(Family.MOVE), SALC(Family.MOVE),
    // bits
    BT(Family.BIT), BTS(Family.BIT), BTR(Family.BIT), BTC(Family.BIT), BSF(Family.BIT), BSR(Family.BIT),
    POPCNT(Family.BIT), LZCNT(Family.BIT),
    // control transfer
    JCC(Family.BRANCH), JMP(Family.BRANCH), JMP_IND(Family.BRANCH), CALL(Family.BRANCH),
    CALL_IND(Family.BRANCH), RET(Family.BRANCH), JMP_FAR(Family.BRANCH), JMP_FAR_IND(Family.BRANCH),
    CALL_FAR(Family.BRANCH), CALL_FAR_IND(Family.BRANCH), RET_FAR(Family.BRANCH), LOOP(Family.BRANCH),
    LOOPE(Family.BRANCH), LOOPNE(Family.BRANCH), JCXZ(Family.BRANCH), INT(Family.BRANCH), INT3(Family.BRANCH),
    INTO(Family.BRANCH), INT1(Family.BRANCH), IRET(Family.BRANCH), SYSCALL(Family.BRANCH),
    SYSRET(Family.BRANCH), SYSENTER(Family.BRANCH), SYSEXIT(Family.BRANCH),
    // strings
    MOVS(Family.STRING), CMPS(Family.STRING), STOS(Family.STRING), LODS(Family.STRING), SCAS(Family.STRING),
    INS(Family.STRING), OUTS(Family.STRING),
    // system and flags
    IN(Family.SYSTEM), OUT(Family.SYSTEM), HLT(Family.SYSTEM), CLC(Family.SYSTEM), STC(Family.SYSTEM),
    CMC(Family.SYSTEM), CLD(Family.SYSTEM), STD(Family.SYSTEM), CLI(Family.SYSTEM), STI(Family.SYSTEM),
    PAUSE(Family.SYSTEM), CPUID(Family.SYSTEM), RDTSC(Family.SYSTEM), RDTSCP(Family.SYSTEM),
    RDMSR(Family.SYSTEM), WRMSR(Family.SYSTEM), MOV_FROM_CR(Family.SYSTEM), MOV_TO_CR(Family.SYSTEM),
    MOV_FROM_DR(Family.SYSTEM), MOV_TO_DR(Family.SYSTEM), LGDT(Family.SYSTEM), LIDT(Family.SYSTEM),
    SGDT(Family.SYSTEM), SIDT(Family.SYSTEM), LLDT(Family.SYSTEM), SLDT(Family.SYSTEM), LTR(Family.SYSTEM),
    STR(Family.SYSTEM), LMSW(Family.SYSTEM), SMSW(Family.SYSTEM), INVLPG(Family.SYSTEM), SWAPGS(Family.SYSTEM),
    CLTS(Family.SYSTEM), LAR(Family.SYSTEM), LSL(Family.SYSTEM), VERR(Family.SYSTEM), VERW(Family.SYSTEM),
    WBINVD(Family.SYSTEM), FENCE(Family.SYSTEM), CLFLUSH(Family.SYSTEM), FWAIT(Family.SYSTEM),
    UD(Family.SYSTEM), X87(Family.FPU), RDPMC(Family.SYSTEM), ARPL(Family.SYSTEM),
    // SSE/SSE2 (the operation in Entry.aux, see Sse)
    SSE(Family.SSE);

    /** Families the interpreter dispatches on first, so each handler method stays small enough to inline. */
    enum Family { ALU, SHIFT, MULDIV, MOVE, BIT, BRANCH, STRING, SYSTEM, SSE, FPU }

    final Family family;

    Op(Family family) {
        this.family = family;
    }
}
