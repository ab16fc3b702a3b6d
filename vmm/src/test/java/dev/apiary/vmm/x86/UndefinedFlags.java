package dev.apiary.vmm.x86;

import static dev.apiary.vmm.x86.DiffLayout.AF;
import static dev.apiary.vmm.x86.DiffLayout.CF;
import static dev.apiary.vmm.x86.DiffLayout.OF;
import static dev.apiary.vmm.x86.DiffLayout.PF;
import static dev.apiary.vmm.x86.DiffLayout.SF;
import static dev.apiary.vmm.x86.DiffLayout.ZF;

import java.util.Map;

/**
 * The flags the SDM (Vol. 2, each instruction's "Flags Affected") leaves undefined, keyed by mnemonic, so
 * the differential tests compare everything else. Where Intel and AMD document differently, the union is
 * masked: the oracle may be either vendor. Count-dependent rules (shifts, rotates, SHLD/SHRD) are functions
 * of the masked count.
 */
final class UndefinedFlags {
    static final long ALL = CF | PF | AF | ZF | SF | OF;

    private static final Map<String, Long> FIXED = Map.ofEntries(
            // AND/OR/XOR/TEST: "The OF and CF flags are cleared; the SF, ZF, and PF flags are set according
            // to the result. The state of the AF flag is undefined."
            Map.entry("and", AF), Map.entry("or", AF), Map.entry("xor", AF), Map.entry("test", AF),
            // MUL/IMUL: "The SF, ZF, AF, and PF flags are undefined."
            Map.entry("mul", SF | ZF | AF | PF), Map.entry("imul", SF | ZF | AF | PF),
            // DIV/IDIV: "The CF, OF, SF, ZF, AF, and PF flags are undefined."
            Map.entry("div", ALL), Map.entry("idiv", ALL),
            // BT/BTS/BTR/BTC: Intel: ZF unaffected, OF SF AF PF undefined; AMD: ZF undefined as well.
            Map.entry("bt", OF | SF | AF | PF | ZF), Map.entry("bts", OF | SF | AF | PF | ZF),
            Map.entry("btr", OF | SF | AF | PF | ZF), Map.entry("btc", OF | SF | AF | PF | ZF),
            // BSF/BSR: "The CF, OF, SF, AF, and PF flags are undefined."
            Map.entry("bsf", CF | OF | SF | AF | PF), Map.entry("bsr", CF | OF | SF | AF | PF),
            // TZCNT/LZCNT: "OF, SF, PF and AF flags are undefined."
            Map.entry("tzcnt", OF | SF | PF | AF), Map.entry("lzcnt", OF | SF | PF | AF));

    private UndefinedFlags() {}

    /** Flags undefined after {@code mnemonic} regardless of its inputs (0 when all are defined). */
    static long of(String mnemonic) {
        return FIXED.getOrDefault(mnemonic, 0L);
    }

    /** The count as the CPU masks it: 5 bits, or 6 with a 64-bit operand. */
    static int maskedCount(int count, int bits) {
        return count & (bits == 64 ? 0x3F : 0x1F);
    }

    /**
     * SHL/SAL/SHR/SAR: a masked count of 0 affects nothing; otherwise AF is undefined, OF is defined only
     * for a count of 1, and CF is undefined for SHL/SHR when the count is at least the operand size.
     */
    static long shift(String mnemonic, int count, int bits) {
        int c = maskedCount(count, bits);
        if (c == 0) return 0;
        long u = AF;
        if (c != 1) u |= OF;
        if (c >= bits && !mnemonic.equals("sar")) u |= CF;
        return u;
    }

    /** ROL/ROR/RCL/RCR: only CF and OF are affected, OF defined for a masked count of 1 only. */
    static long rotate(int count, int bits) {
        int c = maskedCount(count, bits);
        return c == 0 || c == 1 ? 0 : OF;
    }

    /**
     * SHLD/SHRD: count 0 affects nothing; a count above the operand size (16-bit only, after masking)
     * leaves the destination and every flag undefined; otherwise AF is undefined and OF is defined only for
     * a count of 1.
     */
    static long doubleShift(int count, int bits) {
        int c = maskedCount(count, bits);
        if (c == 0) return 0;
        if (c > bits) return ALL;
        return c == 1 ? AF : AF | OF;
    }
}
