package dev.apiary.vmm.boot;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/** Synthetic bzImages for tests: a setup header with chosen fields and a recognisable protected-mode part. */
final class TestImages {
    int version = 0x020F;
    int setupSects = 4;
    int pmSize = 64 * 1024;
    int loadflags = BootParams.LOADED_HIGH;
    int xloadflags = BootParams.XLF_KERNEL_64 | BootParams.XLF_CAN_BE_LOADED_ABOVE_4G;
    boolean relocatable = true;
    long kernelAlignment = 0x20_0000;
    long prefAddress = 0x100_0000;
    long initSize = 0x200_0000; // 32 MiB
    long cmdlineSize = 2047;
    long initrdAddrMax = 0x7FFF_FFFF;
    int headerEnd = 0x26C; // 0x202 + jump offset
    long syssizeOverride = -1;
    String kernelVersion = "6.1.0-test (apiary@test) #1 SMP";

    static TestImages bz() {
        return new TestImages();
    }

    TestImages version(int v) {
        version = v;
        return this;
    }

    TestImages pmSize(int v) {
        pmSize = v;
        return this;
    }

    TestImages initSize(long v) {
        initSize = v;
        return this;
    }

    TestImages xloadflags(int v) {
        xloadflags = v;
        return this;
    }

    TestImages cmdlineSize(long v) {
        cmdlineSize = v;
        return this;
    }

    TestImages initrdAddrMax(long v) {
        initrdAddrMax = v;
        return this;
    }

    byte[] build() {
        int setupSize = (setupSects == 0 ? 5 : setupSects + 1) * 512;
        byte[] b = new byte[setupSize + pmSize];
        ByteBuffer le = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        le.put(BootParams.SETUP_SECTS, (byte) setupSects);
        le.putInt(BootParams.SYSSIZE, (int) (syssizeOverride >= 0 ? syssizeOverride : (pmSize + 15) / 16));
        le.putShort(BootParams.VID_MODE, (short) 0xFFFF);
        le.putShort(BootParams.BOOT_FLAG, (short) 0xAA55);
        le.put(BootParams.JUMP, (byte) 0xEB);
        le.put(BootParams.JUMP + 1, (byte) (headerEnd - 0x202));
        le.putInt(BootParams.HEADER, BootParams.HEADER_MAGIC);
        le.putShort(BootParams.VERSION, (short) version);
        le.put(BootParams.LOADFLAGS, (byte) loadflags);
        le.putInt(BootParams.CODE32_START, 0x10_0000);
        le.putInt(BootParams.INITRD_ADDR_MAX, (int) initrdAddrMax);
        le.putInt(BootParams.KERNEL_ALIGNMENT, (int) kernelAlignment);
        le.put(BootParams.RELOCATABLE_KERNEL, (byte) (relocatable ? 1 : 0));
        le.putShort(BootParams.XLOADFLAGS, (short) xloadflags);
        le.putInt(BootParams.CMDLINE_SIZE, (int) cmdlineSize);
        le.putLong(BootParams.PREF_ADDRESS, prefAddress);
        le.putInt(BootParams.INIT_SIZE, (int) initSize);
        // The kernel version string lives in the setup part; kernel_version points at it, minus 0x200.
        byte[] kv = (kernelVersion + "\0").getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(kv, 0, b, 0x300, kv.length);
        le.putShort(BootParams.KERNEL_VERSION, (short) (0x300 - 0x200));
        for (int i = 0; i < pmSize; i++) {
            b[setupSize + i] = (byte) (i * 7 + 3);
        }
        return b;
    }

    BzImage parse() throws BootImageException {
        return BzImage.parse("test-bzImage", build());
    }
}
