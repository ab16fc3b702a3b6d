package dev.apiary.operator.it;

import static dev.apiary.operator.it.MockCluster.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.apiary.operator.app.OperatorHealth;
import dev.apiary.operator.runtime.OperatorRuntime;
import dev.apiary.operator.vm.VmApi;
import io.fabric8.kubernetes.api.model.Event;
import java.time.Duration;
import java.util.Map;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Controller start-up has a deadline: informers whose first list fails (403 from RBAC, 404 for a CRD not installed)
 * are reported through readiness and an Event, and the operator starts working once the cause is fixed.
 */
class StartupIT {
    final MockCluster k = new MockCluster();

    @AfterEach
    void close() {
        k.close();
    }

    @Test
    void aForbiddenListIsReportedAndTheOperatorStartsOnceItIsAllowed() {
        k.refuseReads("/virtualmachines", 403);
        k.agent("node-a", 4, "8Gi", Map.of()).startHeartbeats();
        OperatorRuntime op = k.startOperator(settings().withSyncTimeout(Duration.ofMillis(500)), VmApi::of);
        String why = await("not-synced reported", op::notReadyReason, w -> w != null && w.contains("403"));
        assertTrue(op.live(), "waiting for the API server is no reason to restart the process");
        assertFalse(op.ready());
        assertTrue(why.contains("VirtualMachine: list/watch answered 403"), why);
        assertTrue(why.contains("may not list/watch virtualmachines.apiary.dev"), why);
        assertFalse(why.contains("VmmNode:"), "the VmmNode cache synced: " + why);
        HealthCheckResponse ready = OperatorHealth.ready(op);
        assertEquals(HealthCheckResponse.Status.DOWN, ready.getStatus());
        assertEquals(why, ready.getData().orElseThrow().get("reason"));
        assertEquals(HealthCheckResponse.Status.UP, OperatorHealth.live(op).getStatus());
        Event e = await("Warning event on the operator's pod", () -> k.events("operator"), l -> !l.isEmpty()).get(0);
        assertEquals("CacheSyncTimeout", e.getReason());
        assertEquals("Warning", e.getType());
        assertEquals("Pod", e.getInvolvedObject().getKind());
        assertTrue(e.getMessage().contains("403"), e.getMessage());

        // The grant arrives (RBAC applied after the operator): the informer's retries succeed, work starts.
        k.refuseReads(null, 0);
        await("ready", op::ready, r -> r, Duration.ofSeconds(60));
        assertEquals(HealthCheckResponse.Status.UP, OperatorHealth.ready(op).getStatus());
        k.create(vmYaml("late", "Always", 1, "1Gi"));
        await("bound", () -> k.vm("late"), v -> v.getStatus() != null && "node-a".equals(v.getStatus().nodeName));
    }

    @Test
    void aMissingCrdIsNamed() {
        k.refuseReads("/vmmnodes", 404);
        OperatorRuntime op = k.startOperator(settings().withSyncTimeout(Duration.ofMillis(300)), VmApi::of);
        String why = await("not-synced reported", op::notReadyReason, w -> w != null && w.contains("404"));
        assertTrue(why.contains("is the CRD vmmnodes.apiary.dev installed?"), why);
        assertFalse(op.ready());
    }
}
