package dev.apiary.operator.scheduling;

import static org.junit.jupiter.api.Assertions.*;

import dev.apiary.crds.Accelerator;
import dev.apiary.crds.VirtualMachineSpec;
import dev.apiary.crds.VmmNodeStatus;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SchedulerTest {
    static final long GI = 1L << 30;

    static final List<AcceleratorOffer> BOTH = List.of(new AcceleratorOffer("KVM", true, "KVM usable"),
            new AcceleratorOffer("Emulated", true, "software x86-64 CPU"));
    static final List<AcceleratorOffer> SOFT_ONLY = List.of(new AcceleratorOffer("KVM", false, "/dev/kvm does not exist"),
            new AcceleratorOffer("Emulated", true, "software x86-64 CPU"));
    static final VirtualMachineSpec.Accelerator AUTO = VirtualMachineSpec.Accelerator.Auto;
    static final VirtualMachineSpec.Accelerator ONLY_KVM = VirtualMachineSpec.Accelerator.KVM;
    static final VirtualMachineSpec.Accelerator EMULATED = VirtualMachineSpec.Accelerator.Emulated;

    static NodeView node(String name, int cpus, long mem, int usedCpus, long usedMem, Map<String, String> labels) {
        return node(name, cpus, mem, usedCpus, usedMem, labels, BOTH);
    }

    static NodeView node(String name, int cpus, long mem, int usedCpus, long usedMem, Map<String, String> labels,
            List<AcceleratorOffer> offers) {
        return new NodeView(name, labels, null, false, cpus, mem, usedCpus, usedMem, usedCpus, offers);
    }

    @Test
    void bindsToANodeThatFits() {
        var p = Scheduler.place(4, 4 * GI, Map.of(), AUTO, List.of(node("a", 2, 64 * GI, 0, 0, Map.of()),
                node("b", 8, 64 * GI, 0, 0, Map.of())));
        assertEquals(new Placement.Bound("b"), p);
    }

    @Test
    void spreadsToTheLeastFullNode() {
        var p = Scheduler.place(1, GI, Map.of(), AUTO, List.of(node("a", 8, 16 * GI, 4, 2 * GI, Map.of()),
                node("b", 8, 16 * GI, 1, 8 * GI, Map.of()), node("c", 8, 16 * GI, 2, 2 * GI, Map.of())));
        assertEquals(new Placement.Bound("c"), p, "c is 3/8 CPU and 3/16 memory after placement: the emptiest");
    }

    @Test
    void nodeSelectorMustMatch() {
        var nodes = List.of(node("a", 8, 16 * GI, 0, 0, Map.of("disk", "hdd")), node("b", 8, 16 * GI, 6, 0,
                Map.of("disk", "ssd")));
        assertEquals(new Placement.Bound("b"), Scheduler.place(1, GI, Map.of("disk", "ssd"), AUTO, nodes));
    }

    @Test
    void noFitSaysWhichNodeLackedWhat() {
        var nodes = List.of(node("a", 8, 16 * GI, 6, 0, Map.of()),
                node("b", 8, 16 * GI, 0, 15 * GI, Map.of()),
                new NodeView("c", Map.of(), "NotReady: no heartbeat", false, 64, 64 * GI, 0, 0, 0, BOTH),
                new NodeView("d", Map.of(), null, true, 64, 64 * GI, 0, 0, 0, BOTH),
                node("e", 64, 64 * GI, 0, 0, Map.of("zone", "x")));
        var p = assertInstanceOf(Placement.Unschedulable.class, Scheduler.place(4, 2 * GI, Map.of("zone", "y"), AUTO, nodes));
        assertEquals("Unschedulable", p.reason());
        String m = p.message();
        assertTrue(m.startsWith("0/5 nodes fit 4 CPUs and 2Gi: "), m);
        assertTrue(m.contains("a: labels do not match nodeSelector zone=y"), m);
        var q = assertInstanceOf(Placement.Unschedulable.class, Scheduler.place(4, 2 * GI, Map.of(), AUTO, nodes.subList(0, 4)));
        assertTrue(q.message().contains("a: only 2 of 8 CPUs free"), q.message());
        assertTrue(q.message().contains("b: only 1Gi of 16Gi memory free"), q.message());
        assertTrue(q.message().contains("c: NotReady: no heartbeat"), q.message());
        assertTrue(q.message().contains("d: cordoned"), q.message());
    }

    @Test
    void noNodesAtAll() {
        var p = assertInstanceOf(Placement.Unschedulable.class, Scheduler.place(1, GI, Map.of(), AUTO, List.of()));
        assertEquals("NoNodes", p.reason());
    }

    @Test
    void exactFitIsAFit() {
        assertEquals(new Placement.Bound("a"), Scheduler.place(2, 2 * GI, null, null, List.of(node("a", 4, 4 * GI, 2, 2 * GI,
                null))), "no accelerator given is Auto");
    }

    @Test
    void aKvmVmGoesOnlyToANodeWithKvm() {
        var nodes = List.of(node("empty-soft", 64, 64 * GI, 0, 0, Map.of(), SOFT_ONLY),
                node("busy-kvm", 8, 16 * GI, 6, 8 * GI, Map.of(), BOTH));
        assertEquals(new Placement.Bound("busy-kvm"), Scheduler.place(1, GI, Map.of(), ONLY_KVM, nodes));
        var full = assertInstanceOf(Placement.Unschedulable.class,
                Scheduler.place(4, GI, Map.of(), ONLY_KVM, nodes));
        assertEquals("Unschedulable", full.reason(), "a KVM node exists, it is only full");
        assertTrue(full.message().startsWith("0/2 nodes fit 4 CPUs and 1Gi with KVM: "), full.message());
        assertTrue(full.message().contains("busy-kvm: only 2 of 8 CPUs free"), full.message());
        assertTrue(full.message().contains("empty-soft: no KVM (/dev/kvm does not exist)"), full.message());
    }

    @Test
    void noNodeWithKvmSaysSoAndWhy() {
        var nodes = List.of(node("a", 64, 64 * GI, 0, 0, Map.of(), SOFT_ONLY),
                node("b", 64, 64 * GI, 0, 0, Map.of(), List.of(new AcceleratorOffer("KVM", false,
                        "/dev/kvm is not readable and writable"), new AcceleratorOffer("Emulated", true, null))));
        var p = assertInstanceOf(Placement.Unschedulable.class, Scheduler.place(1, GI, Map.of(), ONLY_KVM, nodes));
        assertEquals("NoNodeWithKVM", p.reason());
        assertTrue(p.message().startsWith("no VmmNode offers KVM, which spec.accelerator: KVM requires"), p.message());
        assertTrue(p.message().contains("a: /dev/kvm does not exist; b: /dev/kvm is not readable and writable"),
                p.message());
        assertEquals(new Placement.Bound("a"), Scheduler.place(1, GI, Map.of(), AUTO, nodes), "Auto runs emulated");
    }

    @Test
    void autoPrefersKvmAndFallsBackToTheSoftwareCpu() {
        var nodes = List.of(node("empty-soft", 64, 64 * GI, 0, 0, Map.of(), SOFT_ONLY),
                node("busy-kvm", 8, 16 * GI, 6, 8 * GI, Map.of(), BOTH));
        assertEquals(new Placement.Bound("busy-kvm"), Scheduler.place(2, GI, Map.of(), AUTO, nodes),
                "KVM first, though the other node is emptier");
        assertEquals(new Placement.Bound("empty-soft"), Scheduler.place(4, GI, Map.of(), AUTO, nodes),
                "the KVM node is full: the software CPU");
    }

    @Test
    void anEmulatedVmGoesAnywhereWithTheSoftwareCpuSpreadAsUsual() {
        List<AcceleratorOffer> oldAgent = AcceleratorOffer.of(oldAgentStatus());
        var nodes = List.of(node("old-empty", 64, 64 * GI, 0, 0, Map.of(), oldAgent),
                node("kvm", 8, 16 * GI, 4, 8 * GI, Map.of(), BOTH),
                node("soft", 8, 16 * GI, 1, GI, Map.of(), SOFT_ONLY));
        assertEquals(new Placement.Bound("soft"), Scheduler.place(1, GI, Map.of(), EMULATED, nodes));
        var none = assertInstanceOf(Placement.Unschedulable.class, Scheduler.place(1, GI, Map.of(),
                EMULATED, nodes.subList(0, 1)));
        assertEquals("NoNodeWithEmulated", none.reason());
        assertTrue(none.message().contains("old-empty: its vmm-agent predates the software CPU"), none.message());
    }

    @Test
    void anOlderAgentsKvmBlockStandsForKvmAlone() {
        List<AcceleratorOffer> offers = AcceleratorOffer.of(oldAgentStatus());
        assertTrue(AcceleratorOffer.offers(offers, Accelerator.KVM));
        assertFalse(AcceleratorOffer.offers(offers, Accelerator.Emulated));
        VmmNodeStatus s = oldAgentStatus();
        s.accelerators = List.of(new VmmNodeStatus.AcceleratorInfo("KVM", false, false, "/dev/kvm does not exist"),
                new VmmNodeStatus.AcceleratorInfo("Emulated", true, false, "software x86-64 CPU"));
        offers = AcceleratorOffer.of(s);
        assertFalse(AcceleratorOffer.offers(offers, Accelerator.KVM), "the list wins over the kvm block");
        assertTrue(AcceleratorOffer.offers(offers, Accelerator.Emulated));
        assertEquals(List.of(), AcceleratorOffer.of(new VmmNodeStatus()));
    }

    static VmmNodeStatus oldAgentStatus() {
        VmmNodeStatus s = new VmmNodeStatus();
        s.kvm = new VmmNodeStatus.Kvm();
        s.kvm.present = true;
        s.kvm.reason = "nested PVM";
        return s;
    }
}
