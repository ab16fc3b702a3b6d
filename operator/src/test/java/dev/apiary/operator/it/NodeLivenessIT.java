package dev.apiary.operator.it;

import static dev.apiary.operator.it.MockCluster.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.apiary.crds.VmmNode;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Node liveness is judged from when the operator observed a heartbeat, by its own clock, never from the agent's
 * clock: a node whose clock is an hour behind does not flap, one an hour ahead that stops reporting is still lost.
 */
class NodeLivenessIT {
    final MockCluster k = new MockCluster();

    @AfterEach
    void close() {
        k.close();
    }

    static Optional<String> ready(VmmNode n) {
        return n.getStatus().conditions.stream().filter(c -> c.getType().equals("Ready")).map(c -> c.getStatus())
                .findFirst();
    }

    @Test
    void clockSkewNeitherFlapsANodeNorHidesItsLoss() {
        k.agent("behind", 4, "8Gi", Map.of("clock", "behind")).withClockSkew(Duration.ofHours(-1)).startHeartbeats();
        FakeAgent ahead = k.agent("ahead", 4, "8Gi", Map.of("clock", "ahead")).withClockSkew(Duration.ofHours(1))
                .startHeartbeats();
        k.startOperator(); // heartbeat timeout 3 s (MockCluster.HEARTBEAT_TIMEOUT)
        long t0 = System.nanoTime();

        // Every heartbeat of "behind" is an hour old by the operator's clock, yet it keeps reporting: it is Ready.
        k.create(vmYaml("b", "Always", 1, "1Gi").replace("  boot:", "  nodeSelector: {clock: behind}\n  boot:"));
        await("placed on the node whose clock is behind", () -> k.vm("b"),
                v -> v.getStatus() != null && "behind".equals(v.getStatus().nodeName));
        await("twice the heartbeat timeout", () -> System.nanoTime() - t0,
                ns -> ns > 2 * HEARTBEAT_TIMEOUT.toNanos(), Duration.ofSeconds(30));
        assertEquals(Optional.of("True"), ready(k.node("behind")), "a slow clock does not make a node lost");
        assertFalse(k.eventReasons("behind").contains("NodeNotReady"));

        // "ahead" stops: its last heartbeatTime is an hour in the operator's future, but nothing new is observed.
        ahead.stopHeartbeats();
        VmmNode lost = await("the node whose clock is ahead is lost once it stops", () -> k.node("ahead"),
                n -> ready(n).equals(Optional.of("Unknown")), Duration.ofSeconds(20));
        String msg = lost.getStatus().conditions.stream().filter(c -> c.getType().equals("Ready")).findFirst()
                .orElseThrow().getMessage();
        assertTrue(msg.contains("no heartbeat observed for"), msg);
        assertEquals(Optional.of("True"), ready(k.node("behind")));
    }

    /**
     * An agent that renews its node Lease (a small object) is alive whatever its clock says, also when its VmmNode
     * status is not written; when the renewals stop, the node is lost after the timeout.
     */
    @Test
    void observedLeaseRenewalsKeepANodeAliveAndTheirEndLosesIt() {
        FakeAgent leased = k.agent("leased", 4, "8Gi", Map.of()).withClockSkew(Duration.ofHours(-2))
                .startLeaseRenewals();
        k.startOperator();
        long t0 = System.nanoTime();
        await("twice the heartbeat timeout", () -> System.nanoTime() - t0,
                ns -> ns > 2 * HEARTBEAT_TIMEOUT.toNanos(), Duration.ofSeconds(30));
        assertEquals(Optional.of("True"), ready(k.node("leased")),
                "Lease renewals observed count as heartbeats (the VmmNode status was written once, at start)");
        leased.stopLeaseRenewals();
        await("lost once the renewals stop", () -> k.node("leased"), n -> ready(n).equals(Optional.of("Unknown")),
                Duration.ofSeconds(20));
    }
}
