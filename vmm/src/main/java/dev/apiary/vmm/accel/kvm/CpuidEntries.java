package dev.apiary.vmm.accel.kvm;

import dev.apiary.vmm.os.NativeStruct;

import static dev.apiary.vmm.accel.kvm.KvmAbi.*;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** A mutable list of CPUID leaves, as KVM_GET_SUPPORTED_CPUID gives them and KVM_SET_CPUID2 takes them. */
public final class CpuidEntries {
    public static final int FLAG_SIGNIFICANT_INDEX = 1;

    public record Entry(int function, int index, int flags, int eax, int ebx, int ecx, int edx) {
        public Entry withRegs(int eax, int ebx, int ecx, int edx) {
            return new Entry(function, index, flags, eax, ebx, ecx, edx);
        }
    }

    private final List<Entry> entries = new ArrayList<>();

    public void add(Entry e) {
        entries.add(e);
    }

    public List<Entry> entries() {
        return entries;
    }

    public CpuidEntries copy() {
        CpuidEntries c = new CpuidEntries();
        c.entries.addAll(entries);
        return c;
    }

    public Optional<Entry> find(int function, int index) {
        for (Entry e : entries) {
            if (e.function() == function && ((e.flags() & FLAG_SIGNIFICANT_INDEX) == 0 || e.index() == index)) {
                return Optional.of(e);
            }
        }
        return Optional.empty();
    }

    /** Replaces every entry of this function/index (or adds one). */
    public void put(Entry e) {
        entries.removeIf(x -> x.function() == e.function() && x.index() == e.index());
        entries.add(e);
    }

    public void removeFunction(int function) {
        entries.removeIf(x -> x.function() == function);
    }

    NativeStruct toNative() {
        NativeStruct s = new NativeStruct(SIZEOF_CPUID2 + entries.size() * SIZEOF_CPUID_ENTRY2);
        s.buf().putInt(CPUID2_NENT, entries.size());
        int o = CPUID2_ENTRIES;
        for (Entry e : entries) {
            s.buf().putInt(o + CPUID_ENTRY_FUNCTION, e.function()).putInt(o + CPUID_ENTRY_INDEX, e.index())
                    .putInt(o + CPUID_ENTRY_FLAGS, e.flags()).putInt(o + CPUID_ENTRY_EAX, e.eax())
                    .putInt(o + CPUID_ENTRY_EBX, e.ebx()).putInt(o + CPUID_ENTRY_ECX, e.ecx())
                    .putInt(o + CPUID_ENTRY_EDX, e.edx());
            o += SIZEOF_CPUID_ENTRY2;
        }
        return s;
    }
}
