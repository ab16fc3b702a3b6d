package dev.apiary.operator.scheduling;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SchedulerTest {
    static final long GI = 1L << 30;

    static NodeView node(String name, int cpus, long mem, int usedCpus, long usedMem, Map<String, String> labels) {
        return new NodeView(name, labels, null, false, cpus, mem, usedCpus, usedMem, usedCpus);
    }

    @Test
    void bindsToANodeThatFits() {
        var p = Scheduler.place(4, 4 * GI, Map.of(), List.of(node("a", 2, 64 * GI, 0, 0, Map.of()),
                node("b", 8, 64 * GI, 0, 0, Map.of())));
        assertEquals(new Placement.Bound("b"), p);
    }

    @Test
    void spreadsToTheLeastFullNode() {
        var p = Scheduler.place(1, GI, Map.of(), List.of(node("a", 8, 16 * GI, 4, 2 * GI, Map.of()),
                node("b", 8, 16 * GI, 1, 8 * GI, Map.of()), node("c", 8, 16 * GI, 2, 2 * GI, Map.of())));
        assertEquals(new Placement.Bound("c"), p, "c is 3/8 CPU and 3/16 memory after placement: the emptiest");
    }

    @Test
    void nodeSelectorMustMatch() {
        var nodes = List.of(node("a", 8, 16 * GI, 0, 0, Map.of("disk", "hdd")), node("b", 8, 16 * GI, 6, 0,
                Map.of("disk", "ssd")));
        assertEquals(new Placement.Bound("b"), Scheduler.place(1, GI, Map.of("disk", "ssd"), nodes));
    }

    @Test
    void noFitSaysWhichNodeLackedWhat() {
        var nodes = List.of(node("a", 8, 16 * GI, 6, 0, Map.of()),
                node("b", 8, 16 * GI, 0, 15 * GI, Map.of()),
                new NodeView("c", Map.of(), "NotReady: no heartbeat", false, 64, 64 * GI, 0, 0, 0),
                new NodeView("d", Map.of(), null, true, 64, 64 * GI, 0, 0, 0),
                node("e", 64, 64 * GI, 0, 0, Map.of("zone", "x")));
        var p = assertInstanceOf(Placement.Unschedulable.class, Scheduler.place(4, 2 * GI, Map.of("zone", "y"), nodes));
        assertEquals("Unschedulable", p.reason());
        String m = p.message();
        assertTrue(m.startsWith("0/5 nodes fit 4 CPUs and 2Gi: "), m);
        assertTrue(m.contains("a: labels do not match nodeSelector zone=y"), m);
        var q = assertInstanceOf(Placement.Unschedulable.class, Scheduler.place(4, 2 * GI, Map.of(), nodes.subList(0, 4)));
        assertTrue(q.message().contains("a: only 2 of 8 CPUs free"), q.message());
        assertTrue(q.message().contains("b: only 1Gi of 16Gi memory free"), q.message());
        assertTrue(q.message().contains("c: NotReady: no heartbeat"), q.message());
        assertTrue(q.message().contains("d: cordoned"), q.message());
    }

    @Test
    void noNodesAtAll() {
        var p = assertInstanceOf(Placement.Unschedulable.class, Scheduler.place(1, GI, Map.of(), List.of()));
        assertEquals("NoNodes", p.reason());
    }

    @Test
    void exactFitIsAFit() {
        assertEquals(new Placement.Bound("a"), Scheduler.place(2, 2 * GI, null, List.of(node("a", 4, 4 * GI, 2, 2 * GI,
                null))));
    }
}
