package dev.apiary.vmm.boot;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * An encoder for the small part of ACPI Machine Language a DSDT needs (ACPI 6.x §20.2, "AML Grammar
 * Definition", and §6.4, "Resource Data Types for ACPI"). Each method returns the encoded bytes of one term,
 * and the containers ({@link #scope}, {@link #device}, {@link #method}, {@link #pkg}) take their contents as
 * already-encoded terms, so a table reads like the ASL it stands for:
 *
 * <pre>{@code
 * scope("\\_SB", device("COM1", name("_HID", eisaId("PNP0501")), name("_UID", integer(1))))
 * }</pre>
 */
public final class Aml {
    private Aml() {}

    // Opcodes (§20.2.5) and prefixes (§20.2.3).
    static final int ZERO_OP = 0x00;
    static final int ONE_OP = 0x01;
    static final int ONES_OP = 0xFF;
    static final int BYTE_PREFIX = 0x0A;
    static final int WORD_PREFIX = 0x0B;
    static final int DWORD_PREFIX = 0x0C;
    static final int STRING_PREFIX = 0x0D;
    static final int QWORD_PREFIX = 0x0E;
    static final int NAME_OP = 0x08;
    static final int SCOPE_OP = 0x10;
    static final int BUFFER_OP = 0x11;
    static final int PACKAGE_OP = 0x12;
    static final int METHOD_OP = 0x14;
    static final int RETURN_OP = 0xA4;
    static final int EXT_OP_PREFIX = 0x5B;
    static final int DEVICE_OP = 0x82; // after EXT_OP_PREFIX
    static final int ROOT_CHAR = '\\';
    static final int PARENT_PREFIX = '^';
    static final int DUAL_NAME_PREFIX = 0x2E;
    static final int MULTI_NAME_PREFIX = 0x2F;
    static final int NULL_NAME = 0x00;

    /** Largest value a PkgLength can encode (28 bits). */
    public static final int MAX_PKG_LENGTH = (1 << 28) - 1;

    // ---------------------------------------------------------------- structure

    /** Concatenates terms. */
    public static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    /**
     * A PkgLength whose value is {@code total}: the length of the package including the PkgLength bytes
     * themselves (§20.2.4). One byte holds up to 63; otherwise bits 7–6 of the lead byte count the bytes that
     * follow (1–3), its bits 3–0 are the low nibble, and each following byte carries 8 more bits.
     */
    public static byte[] pkgLengthValue(int total) {
        if (total < 0 || total > MAX_PKG_LENGTH) {
            throw new IllegalArgumentException("PkgLength out of range: " + total);
        }
        if (total <= 0x3F) {
            return new byte[] {(byte) total};
        }
        int follow = total <= 0xFFF ? 1 : total <= 0xF_FFFF ? 2 : 3;
        byte[] b = new byte[1 + follow];
        b[0] = (byte) ((follow << 6) | (total & 0xF));
        for (int i = 1; i <= follow; i++) {
            b[i] = (byte) (total >>> (4 + 8 * (i - 1)));
        }
        return b;
    }

    /** The PkgLength for {@code contentLength} bytes of package contents (it counts its own bytes too). */
    public static byte[] pkgLength(int contentLength) {
        for (int size = 1; size <= 4; size++) {
            long total = (long) contentLength + size;
            int max = size == 1 ? 0x3F : size == 2 ? 0xFFF : size == 3 ? 0xF_FFFF : MAX_PKG_LENGTH;
            if (total <= max) {
                return pkgLengthValue((int) total);
            }
        }
        throw new IllegalArgumentException("package too large for a PkgLength: " + contentLength + " bytes");
    }

    private static byte[] withPkgLength(byte[] opcode, byte[] contents) {
        return concat(opcode, pkgLength(contents.length), contents);
    }

    /**
     * A NameString (§20.2.2): an optional root ({@code \}) or parent ({@code ^}) prefix, then dot-separated
     * segments of up to 4 characters ({@code A–Z}, {@code 0–9}, {@code _}; not starting with a digit),
     * padded with {@code _}. Two segments use DualNamePrefix, three or more MultiNamePrefix.
     */
    public static byte[] nameString(String path) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int i = 0;
        if (path.startsWith("\\")) {
            out.write(ROOT_CHAR);
            i = 1;
        } else {
            while (i < path.length() && path.charAt(i) == '^') {
                out.write(PARENT_PREFIX);
                i++;
            }
        }
        String rest = path.substring(i);
        if (rest.isEmpty()) {
            out.write(NULL_NAME);
            return out.toByteArray();
        }
        String[] segs = rest.split("\\.", -1);
        if (segs.length == 2) {
            out.write(DUAL_NAME_PREFIX);
        } else if (segs.length > 2) {
            if (segs.length > 255) {
                throw new IllegalArgumentException("too many name segments: " + path);
            }
            out.write(MULTI_NAME_PREFIX);
            out.write(segs.length);
        }
        for (String s : segs) {
            out.writeBytes(nameSeg(s, path));
        }
        return out.toByteArray();
    }

    private static byte[] nameSeg(String seg, String path) {
        if (seg.isEmpty() || seg.length() > 4) {
            throw new IllegalArgumentException("bad AML name segment \"" + seg + "\" in " + path);
        }
        byte[] b = {'_', '_', '_', '_'};
        for (int i = 0; i < seg.length(); i++) {
            char c = seg.charAt(i);
            boolean lead = (c >= 'A' && c <= 'Z') || c == '_';
            boolean ok = lead || (i > 0 && c >= '0' && c <= '9');
            if (!ok) {
                throw new IllegalArgumentException("bad AML name segment \"" + seg + "\" in " + path);
            }
            b[i] = (byte) c;
        }
        return b;
    }

    // ---------------------------------------------------------------- data objects

    /** The shortest encoding of an Integer: Zero, One, Ones, or a Byte/Word/DWord/QWord constant. */
    public static byte[] integer(long v) {
        if (v == 0) {
            return new byte[] {ZERO_OP};
        }
        if (v == 1) {
            return new byte[] {ONE_OP};
        }
        if (v == -1) {
            return new byte[] {(byte) ONES_OP};
        }
        if ((v & ~0xFFL) == 0) {
            return new byte[] {BYTE_PREFIX, (byte) v};
        }
        if ((v & ~0xFFFFL) == 0) {
            return new byte[] {WORD_PREFIX, (byte) v, (byte) (v >>> 8)};
        }
        if ((v & ~0xFFFF_FFFFL) == 0) {
            return concat(new byte[] {DWORD_PREFIX}, le(v, 4));
        }
        return concat(new byte[] {QWORD_PREFIX}, le(v, 8));
    }

    /** A DWordConst even when a shorter encoding exists (for {@code _PRT} addresses, as ASL compilers emit). */
    public static byte[] dword(long v) {
        return concat(new byte[] {DWORD_PREFIX}, le(v, 4));
    }

    /** A String: ASCII characters 0x01–0x7F and a NUL. */
    public static byte[] string(String s) {
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) == 0 || s.charAt(i) > 0x7F) {
                throw new IllegalArgumentException("AML strings are ASCII without NUL: " + s);
            }
        }
        return concat(new byte[] {STRING_PREFIX}, s.getBytes(StandardCharsets.US_ASCII), new byte[] {0});
    }

    /** A Buffer of these bytes (BufferSize as an Integer, then the bytes). */
    public static byte[] buffer(byte[] bytes) {
        return withPkgLength(new byte[] {BUFFER_OP}, concat(integer(bytes.length), bytes));
    }

    /** A Package of up to 255 elements, each an encoded data object or name. */
    public static byte[] pkg(byte[]... elements) {
        if (elements.length > 255) {
            throw new IllegalArgumentException("a Package holds at most 255 elements (VarPackage is not supported)");
        }
        return withPkgLength(new byte[] {PACKAGE_OP}, concat(new byte[] {(byte) elements.length}, concat(elements)));
    }

    /**
     * A compressed EISA ID (as ASL's {@code EISAID("PNP0A03")}): three letters of 5 bits each and four hex
     * digits, stored big-endian and encoded as a DWord.
     */
    public static byte[] eisaId(String id) {
        return integer(eisaIdValue(id));
    }

    public static long eisaIdValue(String id) {
        if (!id.matches("[A-Z]{3}[0-9A-F]{4}")) {
            throw new IllegalArgumentException("EISA ID must be 3 capital letters and 4 hex digits: " + id);
        }
        int vendor = ((id.charAt(0) - 0x40) << 10) | ((id.charAt(1) - 0x40) << 5) | (id.charAt(2) - 0x40);
        int product = Integer.parseInt(id.substring(3), 16);
        // Bytes in memory: vendor high, vendor low, product high, product low; read as a little-endian DWord.
        return ((vendor >>> 8) & 0xFF) | ((vendor & 0xFF) << 8) | (((product >>> 8) & 0xFF) << 16)
                | ((long) (product & 0xFF) << 24);
    }

    // ---------------------------------------------------------------- named objects and statements

    /** {@code Name(path, object)}. */
    public static byte[] name(String path, byte[] object) {
        return concat(new byte[] {NAME_OP}, nameString(path), object);
    }

    /** {@code Scope(path) { terms }}. */
    public static byte[] scope(String path, byte[]... terms) {
        return withPkgLength(new byte[] {SCOPE_OP}, concat(nameString(path), concat(terms)));
    }

    /** {@code Device(path) { terms }}. */
    public static byte[] device(String path, byte[]... terms) {
        return withPkgLength(new byte[] {EXT_OP_PREFIX, (byte) DEVICE_OP}, concat(nameString(path), concat(terms)));
    }

    /**
     * {@code Method(path, args, Serialized|NotSerialized) { terms }}; MethodFlags carry the argument count
     * (bits 0–2) and SerializeFlag (bit 3), sync level 0.
     */
    public static byte[] method(String path, int args, boolean serialized, byte[]... terms) {
        if (args < 0 || args > 7) {
            throw new IllegalArgumentException("a method takes 0–7 arguments: " + args);
        }
        int flags = args | (serialized ? 0x08 : 0);
        return withPkgLength(new byte[] {METHOD_OP}, concat(nameString(path), new byte[] {(byte) flags}, concat(terms)));
    }

    /** {@code Return(value)}. */
    public static byte[] ret(byte[] value) {
        return concat(new byte[] {(byte) RETURN_OP}, value);
    }

    // ---------------------------------------------------------------- resource descriptors (§6.4)

    /** {@code ResourceTemplate() { descriptors }}: a Buffer ending in an End Tag with checksum 0 ("ignore"). */
    public static byte[] resourceTemplate(byte[]... descriptors) {
        return buffer(concat(concat(descriptors), endTag()));
    }

    /** End Tag (§6.4.2.9): 0x79 and a checksum byte; 0 means the checksum is not used. */
    public static byte[] endTag() {
        return new byte[] {0x79, 0x00};
    }

    /** {@code IO(Decode16, min, max, alignment, length)} (§6.4.2.5). */
    public static byte[] io(int min, int max, int alignment, int length) {
        return new byte[] {0x47, 0x01, (byte) min, (byte) (min >>> 8), (byte) max, (byte) (max >>> 8),
            (byte) alignment, (byte) length};
    }

    /** {@code IRQNoFlags() {irq}} (§6.4.2.1, 2-byte form: ISA edge-triggered, active high, exclusive). */
    public static byte[] irqNoFlags(int irq) {
        if (irq < 0 || irq > 15) {
            throw new IllegalArgumentException("ISA IRQ 0–15: " + irq);
        }
        return new byte[] {0x22, (byte) (1 << irq), (byte) ((1 << irq) >>> 8)};
    }

    /**
     * {@code IRQ(Edge|Level, ActiveHigh|ActiveLow, Exclusive|Shared) {irq}} (§6.4.2.1, 3-byte form). Information
     * byte: bit 0 edge, bit 3 active low, bit 4 shared.
     */
    public static byte[] irq(int irq, boolean edge, boolean activeLow, boolean shared) {
        if (irq < 0 || irq > 15) {
            throw new IllegalArgumentException("ISA IRQ 0–15: " + irq);
        }
        int info = (edge ? 0x01 : 0) | (activeLow ? 0x08 : 0) | (shared ? 0x10 : 0);
        return new byte[] {0x23, (byte) (1 << irq), (byte) ((1 << irq) >>> 8), (byte) info};
    }

    /**
     * {@code Interrupt(ResourceConsumer, Edge|Level, ActiveHigh|ActiveLow, Exclusive|Shared) {gsi}}, the Extended
     * Interrupt Descriptor (§6.4.3.6). Flags: bit 0 consumer, bit 1 edge, bit 2 active low, bit 3 shared.
     */
    public static byte[] extendedIrq(long gsi, boolean edge, boolean activeLow, boolean shared) {
        int flags = 0x01 | (edge ? 0x02 : 0) | (activeLow ? 0x04 : 0) | (shared ? 0x08 : 0);
        return concat(new byte[] {(byte) 0x89, 6, 0, (byte) flags, 1}, le(gsi, 4));
    }

    // Address space descriptors (§6.4.3.5): resource type, general flags, type-specific flags, then
    // granularity, minimum, maximum, translation offset and length.
    static final int RESOURCE_MEMORY = 0;
    static final int RESOURCE_IO = 1;
    static final int RESOURCE_BUS = 2;
    /** General flags of a bridge window: ResourceProducer, PosDecode, MinFixed, MaxFixed. */
    static final int PRODUCER_FIXED = 0x0C;

    private static byte[] addressSpace(int tag, int width, int type, int typeFlags, long min, long max) {
        int bodyLength = 3 + 5 * width;
        byte[] head = {(byte) tag, (byte) bodyLength, (byte) (bodyLength >>> 8), (byte) type, PRODUCER_FIXED,
            (byte) typeFlags};
        return concat(head, le(0, width), le(min, width), le(max, width), le(0, width), le(max - min + 1, width));
    }

    /** {@code WordBusNumber(ResourceProducer, MinFixed, MaxFixed, PosDecode, 0, min, max, 0, max-min+1)}. */
    public static byte[] wordBusNumber(int min, int max) {
        return addressSpace(0x88, 2, RESOURCE_BUS, 0, min, max);
    }

    /** {@code WordIO(ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange, 0, min, max, 0, len)}. */
    public static byte[] wordIo(int min, int max) {
        return addressSpace(0x88, 2, RESOURCE_IO, 0x03, min, max);
    }

    /**
     * {@code DWordMemory(ResourceProducer, PosDecode, MinFixed, MaxFixed, Cacheable|NonCacheable, ReadWrite, 0,
     * min, max, 0, len)}. Type flags: bit 0 read/write, bits 1–2 caching (0 non-cacheable, 1 cacheable).
     */
    public static byte[] dwordMemory(long min, long max, boolean cacheable) {
        return addressSpace(0x87, 4, RESOURCE_MEMORY, 0x01 | (cacheable ? 0x02 : 0), min, max);
    }

    /** {@code QWordMemory(...)}, as {@link #dwordMemory} with 64-bit fields. */
    public static byte[] qwordMemory(long min, long max, boolean cacheable) {
        return addressSpace(0x8A, 8, RESOURCE_MEMORY, 0x01 | (cacheable ? 0x02 : 0), min, max);
    }

    static byte[] le(long v, int width) {
        byte[] b = new byte[width];
        for (int i = 0; i < width; i++) {
            b[i] = (byte) (v >>> (8 * i));
        }
        return b;
    }
}
