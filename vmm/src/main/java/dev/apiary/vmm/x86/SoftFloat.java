package dev.apiary.vmm.x86;

import java.math.BigInteger;

/**
 * IEEE 754 binary floating point in software, bit-exact with the x86 SSE and x87 units (SDM Vol. 1 chapter 4
 * and 8.1, 10.2.3, 11.5): single, double and the x87's 80-bit extended format, every operation computed
 * exactly and then rounded once to a precision and exponent range under one of the four rounding modes,
 * raising the six exception flags as the hardware does (tininess detected after rounding, as x86 does;
 * SSE's DAZ and FTZ; x87 precision control). Not fast: SSE and x87 arithmetic are rare in the guests that
 * matter (the kernel uses none; libc's string functions only the integer SSE instructions).
 *
 * <p>One instance per vCPU; the caller sets {@link #rc}, {@link #daz}, {@link #ftz}, {@link #umask} and
 * clears {@link #flags} before an operation, then reads the flags, {@link #roundedUp} (x87 C1) and, for
 * extended results, {@link #hi} (sign and exponent word).
 */
final class SoftFloat {
    /** Exception flags, in MXCSR / x87 status word bit positions. */
    static final int IE = 1, DE = 2, ZE = 4, OE = 8, UE = 0x10, PE = 0x20;
    static final int F32 = 0, F64 = 1, F80 = 2;
    static final int ZERO = 0, FINITE = 1, INF = 2, NAN = 3;
    private static final int[] PREC = {24, 53, 64};
    private static final int[] EMIN = {-126, -1022, -16382};
    private static final int[] EMAX = {127, 1023, 16383};
    static final long QNAN32 = 0xFFC0_0000L, QNAN64 = 0xFFF8_0000_0000_0000L;
    static final long INDEF80 = 0xC000_0000_0000_0000L;
    static final int INDEF80_HI = 0xFFFF;

    /** An unpacked operand: value = m * 2^e for finite ones; NaNs keep their significand left-aligned. */
    static final class Val {
        int kind;
        boolean sign;
        BigInteger m;
        int e;
        /** NaN significand as in the extended format: bit 63 integer bit, bit 62 quiet bit, then payload. */
        long nan;
        boolean snan;
        boolean denormal;
        /** An x87 encoding the FPU does not support (unnormal, pseudo-NaN/infinity): an invalid operand. */
        boolean unsupported;
    }

    int rc;
    boolean daz;
    boolean ftz;
    /** Masked exceptions (the mask bits, in flag positions); unmasked underflow is signalled when tiny. */
    int umask = 0x3F;
    int flags;
    boolean roundedUp;
    int hi;

    // ---- unpacking ---------------------------------------------------------------------------------------

    static BigInteger ubig(long x) {
        return x >= 0 ? BigInteger.valueOf(x) : BigInteger.valueOf(x >>> 1).shiftLeft(1).or(BigInteger.valueOf(x & 1));
    }

    Val unpack(int fmt, long bits, int hi16) {
        Val v = new Val();
        switch (fmt) {
            case F32 -> {
                v.sign = (bits >>> 31 & 1) != 0;
                int exp = (int) (bits >>> 23) & 0xFF;
                long frac = bits & 0x7F_FFFF;
                unpackIeee(v, exp, frac, 0xFF, 23, 127);
            }
            case F64 -> {
                v.sign = bits < 0;
                int exp = (int) (bits >>> 52) & 0x7FF;
                long frac = bits & 0xF_FFFF_FFFF_FFFFL;
                unpackIeee(v, exp, frac, 0x7FF, 52, 1023);
            }
            default -> {
                v.sign = (hi16 & 0x8000) != 0;
                int exp = hi16 & 0x7FFF;
                if (exp == 0x7FFF) {
                    if (bits < 0 && (bits << 1) == 0) {
                        v.kind = INF;
                    } else if (bits < 0) {
                        v.kind = NAN;
                        v.nan = bits;
                        v.snan = (bits & (1L << 62)) == 0;
                    } else {
                        unsupported(v);
                    }
                } else if (exp == 0) {
                    if (bits == 0) {
                        v.kind = ZERO;
                    } else {
                        v.kind = FINITE;
                        v.m = ubig(bits);
                        v.e = -16382 - 63;
                        v.denormal = true; // a pseudo-denormal (integer bit set) is a denormal operand too
                    }
                } else if (bits >= 0) {
                    unsupported(v); // unnormal
                } else {
                    v.kind = FINITE;
                    v.m = ubig(bits);
                    v.e = exp - 16383 - 63;
                }
            }
        }
        return v;
    }

    private static void unsupported(Val v) {
        v.kind = NAN;
        v.snan = true;
        v.unsupported = true;
        v.sign = true;
        v.nan = INDEF80;
    }

    private void unpackIeee(Val v, int exp, long frac, int expMax, int fracBits, int bias) {
        if (exp == expMax) {
            if (frac == 0) {
                v.kind = INF;
            } else {
                v.kind = NAN;
                v.nan = (1L << 63) | (frac << (63 - fracBits));
                v.snan = (frac >>> (fracBits - 1)) == 0;
            }
        } else if (exp == 0) {
            if (frac == 0 || daz) {
                v.kind = ZERO;
            } else {
                v.kind = FINITE;
                v.m = BigInteger.valueOf(frac);
                v.e = 1 - bias - fracBits;
                v.denormal = true;
            }
        } else {
            v.kind = FINITE;
            v.m = BigInteger.valueOf(frac | (1L << fracBits));
            v.e = exp - bias - fracBits;
        }
    }

    // ---- packing ------------------------------------------------------------------------------------------

    long packZero(int fmt, boolean sign) {
        return pack(fmt, sign, 0, 0);
    }

    long packInf(int fmt, boolean sign) {
        return switch (fmt) {
            case F32 -> (sign ? 0x8000_0000L : 0) | 0x7F80_0000L;
            case F64 -> (sign ? Long.MIN_VALUE : 0) | 0x7FF0_0000_0000_0000L;
            default -> {
                hi = (sign ? 0x8000 : 0) | 0x7FFF;
                yield Long.MIN_VALUE;
            }
        };
    }

    /** The default NaN ("real indefinite") of a format. */
    long indefinite(int fmt) {
        return switch (fmt) {
            case F32 -> QNAN32;
            case F64 -> QNAN64;
            default -> {
                hi = INDEF80_HI;
                yield INDEF80;
            }
        };
    }

    /** A NaN in {@code fmt} from a (quieted) significand. */
    long packNan(int fmt, boolean sign, long nan) {
        nan |= 1L << 62;
        return switch (fmt) {
            case F32 -> (sign ? 0x8000_0000L : 0) | 0x7F80_0000L | ((nan >>> 40) & 0x7F_FFFF);
            case F64 -> (sign ? Long.MIN_VALUE : 0) | 0x7FF0_0000_0000_0000L | ((nan >>> 11) & 0xF_FFFF_FFFF_FFFFL);
            default -> {
                hi = (sign ? 0x8000 : 0) | 0x7FFF;
                yield nan | Long.MIN_VALUE;
            }
        };
    }

    /** Packs biased exponent field and significand bits (with the integer bit for F80). */
    private long pack(int fmt, boolean sign, int biasedExp, long sig) {
        return switch (fmt) {
            case F32 -> (sign ? 0x8000_0000L : 0) | ((long) biasedExp << 23) | (sig & 0x7F_FFFF);
            case F64 -> (sign ? Long.MIN_VALUE : 0) | ((long) biasedExp << 52) | (sig & 0xF_FFFF_FFFF_FFFFL);
            default -> {
                hi = (sign ? 0x8000 : 0) | biasedExp;
                yield sig;
            }
        };
    }

    /** Repacks an unpacked value exactly (conversions to a wider format, x87 loads). */
    long packExact(int fmt, Val v) {
        return switch (v.kind) {
            case ZERO -> packZero(fmt, v.sign);
            case INF -> packInf(fmt, v.sign);
            case NAN -> packNan(fmt, v.sign, v.nan);
            default -> round(fmt, PREC[fmt], v.sign, v.m, v.e);
        };
    }

    // ---- rounding -------------------------------------------------------------------------------------------

    private boolean inexact;

    /** {@code m >> shift} rounded by the current mode; sets {@link #inexact} and {@link #roundedUp}. */
    private BigInteger roundShift(BigInteger m, int shift, boolean sign) {
        if (shift <= 0) {
            inexact = false;
            roundedUp = false;
            return m.shiftLeft(-shift);
        }
        if (shift > m.bitLength() + 1) {
            // everything is shifted out and the rest is below half an ulp (FSCALE by huge negative counts)
            inexact = true;
            roundedUp = rc == 1 && sign || rc == 2 && !sign;
            return roundedUp ? BigInteger.ONE : BigInteger.ZERO;
        }
        BigInteger r = m.shiftRight(shift);
        BigInteger rem = m.subtract(r.shiftLeft(shift));
        inexact = rem.signum() != 0;
        boolean inc = false;
        if (inexact) {
            inc = switch (rc) {
                case 0 -> {
                    int c = rem.compareTo(BigInteger.ONE.shiftLeft(shift - 1));
                    yield c > 0 || c == 0 && r.testBit(0);
                }
                case 1 -> sign;
                case 2 -> !sign;
                default -> false;
            };
        }
        roundedUp = inc;
        return inc ? r.add(BigInteger.ONE) : r;
    }

    /**
     * Rounds {@code (-1)^sign * m * 2^e} (m > 0) to {@code p} significant bits in {@code fmt}'s exponent range
     * and packs it, raising PE, UE, OE (SDM Vol. 1 4.9.1.4-4.9.1.6).
     */
    long round(int fmt, int p, boolean sign, BigInteger m, int e) {
        int fullPrec = PREC[fmt];
        int emin = EMIN[fmt];
        int emax = EMAX[fmt];
        int len = m.bitLength();
        int exp = e + len - 1;
        boolean tiny = false;
        if (exp < emin) {
            // tininess after rounding: as if the exponent range were unbounded
            BigInteger t = roundShift(m, len - p, sign);
            tiny = exp + (t.bitLength() > p ? 1 : 0) < emin;
        }
        // a denormal result keeps p - (emin - exp) bits: x87 precision control limits denormals too
        int q = Math.max(exp - p + 1, emin - p + 1);
        BigInteger r = roundShift(m, q - e, sign);
        if (r.bitLength() > p) {
            r = r.shiftRight(1);
            q++;
        }
        if (tiny && (umask & UE) == 0 || exp >= emax && (umask & OE) == 0) {
            return wrapped(fmt, p, sign, m, e, tiny);
        }
        boolean ue = tiny && inexact;
        if (tiny && ftz && (umask & UE) != 0) {
            flags |= UE | PE;
            roundedUp = false;
            return packZero(fmt, sign);
        }
        if (inexact) {
            flags |= PE;
        }
        if (ue) {
            flags |= UE;
        }
        if (r.signum() == 0) {
            return packZero(fmt, sign);
        }
        int rlen = r.bitLength();
        int rexp = q + rlen - 1;
        if (rexp > emax) {
            flags |= OE | PE;
            boolean toInf = rc == 0 || rc == 1 && sign || rc == 2 && !sign;
            roundedUp = toInf;
            if (toInf) {
                return packInf(fmt, sign);
            }
            long ones = p == 64 ? -1L : ((1L << p) - 1) << (fullPrec - p);
            return pack(fmt, sign, emax + bias(fmt), fmt == F80 ? ones : ones);
        }
        if (rexp < emin) {
            return pack(fmt, sign, 0, r.shiftLeft(q - (emin - fullPrec + 1)).longValue());
        }
        long sig = r.shiftLeft(fullPrec - rlen).longValue();
        return pack(fmt, sign, rexp + bias(fmt), sig);
    }

    /**
     * The response to an unmasked overflow or underflow (SDM Vol. 1 8.5.4/8.5.5, 11.5.2.3/4): the result
     * rounded with an unbounded exponent range (PE when that was inexact); the x87 writes it with its
     * exponent wrapped by 24576 (0x6000), SSE writes nothing (the caller raises #XM). A result that rounding
     * kept in range after all gets the ordinary response.
     */
    private long wrapped(int fmt, int p, boolean sign, BigInteger m, int e, boolean tiny) {
        int exp = e + m.bitLength() - 1;
        int q = exp - p + 1;
        BigInteger r = roundShift(m, q - e, sign);
        if (r.bitLength() > p) {
            r = r.shiftRight(1);
            q++;
        }
        int rexp = q + r.bitLength() - 1;
        if (!tiny && rexp <= EMAX[fmt]) {
            int saved = umask;
            umask |= OE; // rounding kept it in range: the ordinary response
            long v = round(fmt, p, sign, m, e);
            umask = saved;
            return v;
        }
        flags |= (tiny ? UE : OE) | (inexact ? PE : 0);
        if (fmt != F80) {
            return tiny ? packZero(fmt, sign) : packInf(fmt, sign);
        }
        long sig = r.shiftLeft(64 - r.bitLength()).longValue();
        return pack(F80, sign, rexp + 16383 + (tiny ? 24576 : -24576) & 0x7FFF, sig);
    }

    private static int bias(int fmt) {
        return fmt == F32 ? 127 : fmt == F64 ? 1023 : 16383;
    }

    static int precision(int fmt) {
        return PREC[fmt];
    }

    // ---- NaN propagation ---------------------------------------------------------------------------------

    /** The NaN result of an operation with a NaN operand (SDM Vol. 1 Table 4-7); IE for a signaling one. */
    long propagate(int fmt, Val a, Val b) {
        if (a.snan || b != null && b.snan) {
            flags |= IE;
        }
        if (a.unsupported || b != null && b.unsupported) {
            return indefinite(fmt);
        }
        Val r;
        if (b == null || b.kind != NAN) {
            r = a;
        } else if (a.kind != NAN) {
            r = b;
        } else if (fmt != F80) {
            r = a; // SSE: the first source
        } else if (a.snan != b.snan) {
            r = a.snan ? b : a; // x87: the quiet one
        } else {
            long am = a.nan & ~(3L << 62), bm = b.nan & ~(3L << 62);
            int c = Long.compareUnsigned(am, bm);
            r = c > 0 ? a : c < 0 ? b : (!a.sign ? a : b);
        }
        return packNan(fmt, r.sign, r.nan);
    }

    private boolean anyNan(Val a, Val b) {
        return a.kind == NAN || b != null && b.kind == NAN;
    }

    private void denormalCheck(Val a, Val b) {
        if (a.denormal || b != null && b.denormal) {
            flags |= DE;
        }
    }

    // ---- arithmetic -------------------------------------------------------------------------------------------

    static final int ADD = 0, SUB = 1, MUL = 2, DIV = 3;

    /** a op b in {@code fmt} rounded to {@code p} bits. */
    long arith(int op, int fmt, int p, Val a, Val b) {
        if (anyNan(a, b)) {
            return propagate(fmt, a, b);
        }
        if (op != DIV || b.kind != ZERO) {
            denormalCheck(a, b); // a denormal divided by zero gives ZE alone
        }
        switch (op) {
            case ADD, SUB -> {
                boolean bs = b.sign ^ (op == SUB);
                if (a.kind == INF || b.kind == INF) {
                    if (a.kind == INF && b.kind == INF && a.sign != bs) {
                        flags |= IE;
                        return indefinite(fmt);
                    }
                    return packInf(fmt, a.kind == INF ? a.sign : bs);
                }
                if (a.kind == ZERO && b.kind == ZERO) {
                    return packZero(fmt, a.sign == bs ? a.sign : rc == 1);
                }
                if (a.kind == ZERO) {
                    return round(fmt, p, bs, b.m, b.e);
                }
                if (b.kind == ZERO) {
                    return round(fmt, p, a.sign, a.m, a.e);
                }
                int e = Math.min(a.e, b.e);
                BigInteger ma = a.m.shiftLeft(a.e - e), mb = b.m.shiftLeft(b.e - e);
                BigInteger s = (a.sign ? ma.negate() : ma).add(bs ? mb.negate() : mb);
                if (s.signum() == 0) {
                    return packZero(fmt, rc == 1);
                }
                return round(fmt, p, s.signum() < 0, s.abs(), e);
            }
            case MUL -> {
                boolean sign = a.sign ^ b.sign;
                if (a.kind == INF || b.kind == INF) {
                    if (a.kind == ZERO || b.kind == ZERO) {
                        flags |= IE;
                        return indefinite(fmt);
                    }
                    return packInf(fmt, sign);
                }
                if (a.kind == ZERO || b.kind == ZERO) {
                    return packZero(fmt, sign);
                }
                return round(fmt, p, sign, a.m.multiply(b.m), a.e + b.e);
            }
            default -> {
                boolean sign = a.sign ^ b.sign;
                if (a.kind == INF) {
                    if (b.kind == INF) {
                        flags |= IE;
                        return indefinite(fmt);
                    }
                    return packInf(fmt, sign);
                }
                if (b.kind == INF) {
                    return packZero(fmt, sign);
                }
                if (b.kind == ZERO) {
                    if (a.kind == ZERO) {
                        flags |= IE;
                        return indefinite(fmt);
                    }
                    flags |= ZE;
                    return packInf(fmt, sign);
                }
                if (a.kind == ZERO) {
                    return packZero(fmt, sign);
                }
                int k = Math.max(0, p + 2 + b.m.bitLength() - a.m.bitLength()) + 1;
                BigInteger[] qr = a.m.shiftLeft(k).divideAndRemainder(b.m);
                BigInteger q = qr[0].shiftLeft(1).or(qr[1].signum() != 0 ? BigInteger.ONE : BigInteger.ZERO);
                return round(fmt, p, sign, q, a.e - b.e - k - 1);
            }
        }
    }

    long sqrt(int fmt, int p, Val a) {
        if (a.kind == NAN) {
            return propagate(fmt, a, null);
        }
        if (a.kind == ZERO) {
            return packZero(fmt, a.sign);
        }
        if (a.sign) {
            flags |= IE; // invalid before denormal: no DE for a negative denormal
            return indefinite(fmt);
        }
        denormalCheck(a, null);
        if (a.kind == INF) {
            return packInf(fmt, false);
        }
        BigInteger m = a.m;
        int e = a.e;
        if ((e & 1) != 0) {
            m = m.shiftLeft(1);
            e--;
        }
        int k = Math.max(0, p + 2 - m.bitLength() / 2) + 1;
        BigInteger n = m.shiftLeft(2 * k);
        BigInteger s = n.sqrt();
        boolean exact = s.multiply(s).equals(n);
        BigInteger r = s.shiftLeft(1).or(exact ? BigInteger.ZERO : BigInteger.ONE);
        return round(fmt, p, false, r, e / 2 - k - 1);
    }

    /**
     * Compares two operands: -1 less, 0 equal, 1 greater, 2 unordered. Sets IE for SNaNs, and for QNaNs too
     * when {@code signalQuiet} (COMISS, FCOM, the ordered CMPPS predicates); DE for denormals.
     */
    int compare(Val a, Val b, boolean signalQuiet) {
        if (anyNan(a, b)) {
            if (a.snan || b.snan || signalQuiet) {
                flags |= IE;
            }
            return 2;
        }
        denormalCheck(a, b);
        int c = compareValues(a, b);
        return c;
    }

    private static int compareValues(Val a, Val b) {
        int sa = signum(a), sb = signum(b);
        if (sa != sb) {
            return Integer.compare(sa, sb);
        }
        if (sa == 0) {
            return 0;
        }
        int mag;
        if (a.kind == INF || b.kind == INF) {
            mag = a.kind == b.kind ? 0 : a.kind == INF ? 1 : -1;
        } else {
            int e = Math.min(a.e, b.e);
            mag = a.m.shiftLeft(a.e - e).compareTo(b.m.shiftLeft(b.e - e));
        }
        return sa > 0 ? mag : -mag;
    }

    private static int signum(Val v) {
        return v.kind == ZERO ? 0 : v.sign ? -1 : 1;
    }

    // ---- conversions ------------------------------------------------------------------------------------------

    /** Converts to a wider or narrower floating format (CVTSS2SD, CVTSD2SS, FLD/FST m32/m64). */
    long convert(int fmt, Val a) {
        if (a.kind == NAN) {
            return propagate(fmt, a, null);
        }
        denormalCheck(a, null);
        return packExact(fmt, a);
    }

    /** Signed integer to floating point, rounded by the current mode. */
    long fromLong(int fmt, int p, long v) {
        if (v == 0) {
            return packZero(fmt, false);
        }
        BigInteger m = v < 0 ? ubig(-v) : BigInteger.valueOf(v);
        return round(fmt, p, v < 0, m, 0);
    }

    /**
     * Floating point to a signed integer of {@code bits}, rounded by the current mode or truncated; NaN,
     * infinity and out-of-range values give IE and the integer indefinite (the most negative value).
     */
    long toInt(Val a, int bits, boolean truncate) {
        long indefinite = 1L << (bits - 1);
        if (a.kind == NAN) {
            flags |= IE;
            return indefinite;
        }
        if (a.kind == INF) {
            flags |= IE;
            return indefinite;
        }
        if (a.kind == ZERO) {
            roundedUp = false;
            return 0;
        }
        int saved = rc;
        if (truncate) {
            rc = 3;
        }
        BigInteger r = roundShift(a.m, -a.e, a.sign);
        rc = saved;
        if (r.bitLength() > bits || !a.sign && r.bitLength() == bits
                || a.sign && r.bitLength() == bits && r.getLowestSetBit() != bits - 1) {
            flags |= IE;
            roundedUp = false;
            return indefinite;
        }
        if (inexact) {
            flags |= PE;
        }
        long v = r.longValue();
        return a.sign ? -v : v;
    }

    /** Rounds to an integral value in the same format (FRNDINT); PE when that changed the value. */
    long roundToIntegral(int fmt, Val a) {
        if (a.kind == NAN) {
            return propagate(fmt, a, null);
        }
        denormalCheck(a, null);
        if (a.kind != FINITE || a.e >= 0) {
            roundedUp = false;
            return packExact(fmt, a);
        }
        BigInteger r = roundShift(a.m, -a.e, a.sign);
        boolean up = roundedUp;
        if (inexact) {
            flags |= PE;
        }
        if (r.signum() == 0) {
            roundedUp = up;
            return packZero(fmt, a.sign);
        }
        long bits = round(fmt, PREC[fmt], a.sign, r, 0);
        roundedUp = up;
        return bits;
    }
}
