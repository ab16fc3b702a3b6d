package dev.apiary.operator.it;

import static dev.apiary.operator.it.MockCluster.*;
import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.apiary.crds.Accelerator;
import dev.apiary.crds.VirtualMachine;
import dev.apiary.crds.VmPhase;
import dev.apiary.operator.vm.VmApi;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Scheduling against the mock API server: fit, nodeSelector, spread, no fit, capacity freed. */
class SchedulingIT {
    final MockCluster k = new MockCluster();

    @AfterEach
    void close() {
        k.close();
    }

    @Test
    void fitsSpreadsAndHonoursNodeSelector() {
        k.agent("node-a", 4, "8Gi", Map.of("disk", "hdd")).startHeartbeats();
        k.agent("node-b", 4, "8Gi", Map.of("disk", "ssd")).startHeartbeats();
        k.startOperator();
        k.create(vmYaml("one", "Manual", 2, "1Gi").replace("runStrategy: Manual", "runStrategy: Always"));
        k.create(vmYaml("two", "Always", 2, "1Gi"));
        VirtualMachine one = await("one bound", () -> k.vm("one"), vm -> vm.getStatus() != null && vm.getStatus().nodeName != null);
        VirtualMachine two = await("two bound", () -> k.vm("two"), vm -> vm.getStatus() != null && vm.getStatus().nodeName != null);
        assertNotEquals(one.getStatus().nodeName, two.getStatus().nodeName, "spread over both nodes");
        assertEquals(VmPhase.Scheduled, one.getStatus().phase);
        assertEquals("True", condition(one, "Scheduled").orElseThrow().getStatus());
        await("event Scheduled on one", () -> k.eventReasons("one"), r -> r.contains("Scheduled"));

        k.create(vmYaml("ssd", "Always", 1, "1Gi").replace("  boot:", "  nodeSelector: {disk: ssd}\n  boot:"));
        VirtualMachine ssd = await("ssd bound", () -> k.vm("ssd"), vm -> vm.getStatus() != null && vm.getStatus().nodeName != null);
        assertEquals("node-b", ssd.getStatus().nodeName);
    }

    @Test
    void noFitWaitsPendingAndBindsWhenCapacityIsFreed() {
        k.agent("node-a", 4, "4Gi", Map.of()).startHeartbeats().startRunning();
        k.startOperator();
        k.create(vmYaml("big", "Always", 3, "2Gi"));
        await("big running", () -> k.vm("big"), vm -> vm.getStatus() != null && vm.getStatus().phase == VmPhase.Running);
        k.create(vmYaml("late", "Always", 2, "1Gi"));
        VirtualMachine late = await("late unschedulable", () -> k.vm("late"),
                vm -> condition(vm, "Scheduled").map(c -> "False".equals(c.getStatus())).orElse(false));
        assertEquals(VmPhase.Pending, late.getStatus().phase);
        var c = condition(late, "Scheduled").orElseThrow();
        assertEquals("Unschedulable", c.getReason());
        assertTrue(c.getMessage().contains("node-a: only 1 of 4 CPUs free"), c.getMessage());
        assertEquals(1L, await("event", () -> k.eventReasons("late").stream().filter("FailedScheduling"::equals).count(),
                n -> n >= 1));

        k.client.resources(VirtualMachine.class).inNamespace("default").withName("big").delete();
        VirtualMachine bound = await("late bound after big is gone", () -> k.vm("late"),
                vm -> "node-a".equals(vm.getStatus().nodeName));
        assertEquals("True", condition(bound, "Scheduled").orElseThrow().getStatus());
        assertNull(k.vm("big"));
        await("allocated follows", () -> k.node("node-a").getStatus().allocated,
                a -> a != null && Objects.equals(a.cpus, 2) && Objects.equals(a.vms, 1));
    }

    @Test
    void aKvmVmWaitsForANodeWithKvmWhileAutoRunsOnTheSoftwareCpu() {
        k.agent("node-soft", 8, "16Gi", Map.of()).withoutKvm().startHeartbeats().startRunning();
        k.startOperator();
        k.create(vmYaml("native", "Always", 1, "1Gi").replace("  cpus:", "  accelerator: KVM\n  cpus:"));
        VirtualMachine pending = await("native unschedulable", () -> k.vm("native"),
                vm -> condition(vm, "Scheduled").map(c -> "False".equals(c.getStatus())).orElse(false));
        assertEquals(VmPhase.Pending, pending.getStatus().phase);
        assertNull(pending.getStatus().nodeName, "never placed on a node without KVM");
        var c = condition(pending, "Scheduled").orElseThrow();
        assertEquals("NoNodeWithKVM", c.getReason());
        assertTrue(c.getMessage().contains("node-soft: /dev/kvm does not exist"), c.getMessage());
        await("event FailedScheduling", () -> k.eventReasons("native"), r -> r.contains("FailedScheduling"));

        k.create(vmYaml("auto", "Always", 1, "1Gi"));
        VirtualMachine auto = await("auto running", () -> k.vm("auto"),
                vm -> vm.getStatus() != null && vm.getStatus().phase == VmPhase.Running);
        assertEquals("node-soft", auto.getStatus().nodeName);
        assertEquals(Accelerator.Emulated, auto.getStatus().accelerator, "the VM shows it runs emulated");

        // A node with KVM joins: the parked VM is placed there at once, and runs with KVM.
        k.agent("node-kvm", 2, "4Gi", Map.of()).startHeartbeats().startRunning();
        VirtualMachine bound = await("native running on node-kvm", () -> k.vm("native"),
                vm -> vm.getStatus().phase == VmPhase.Running);
        assertEquals("node-kvm", bound.getStatus().nodeName);
        assertEquals(Accelerator.KVM, bound.getStatus().accelerator);
        assertEquals("True", condition(bound, "Scheduled").orElseThrow().getStatus());

        // Auto prefers KVM though node-soft is emptier; Emulated goes where the spread rule says.
        k.create(vmYaml("auto2", "Always", 1, "1Gi"));
        k.create(vmYaml("soft", "Always", 1, "1Gi").replace("  cpus:", "  accelerator: Emulated\n  cpus:"));
        assertEquals("node-kvm", await("auto2 bound", () -> k.vm("auto2"),
                vm -> vm.getStatus() != null && vm.getStatus().nodeName != null).getStatus().nodeName);
        VirtualMachine soft = await("soft running", () -> k.vm("soft"),
                vm -> vm.getStatus() != null && vm.getStatus().phase == VmPhase.Running);
        assertEquals("node-soft", soft.getStatus().nodeName);
        assertEquals(Accelerator.Emulated, soft.getStatus().accelerator);
    }

    /**
     * Assume-then-bind: the capacity a decision takes is held while its write is in flight, and a write the server
     * refuses gives it back, so a refused binding never leaves a node looking full.
     */
    @Test
    void aRefusedBindingWriteGivesTheAssumedCapacityBack() {
        k.agent("node-a", 2, "4Gi", Map.of()).startHeartbeats();
        AtomicInteger refused = new AtomicInteger();
        k.startOperator(settings(), c -> {
            VmApi real = VmApi.of(c);
            return new VmApi() {
                public VirtualMachine get(String ns, String n) {
                    return real.get(ns, n);
                }

                public VirtualMachine patch(VirtualMachine vm, ObjectNode p) {
                    return real.patch(vm, p);
                }

                public VirtualMachine patchStatus(VirtualMachine vm, ObjectNode p) {
                    if (vm.getMetadata().getName().equals("refused")) {
                        refused.incrementAndGet();
                        throw new KubernetesClientException("admission webhook denied the request", 422, null);
                    }
                    return real.patchStatus(vm, p);
                }
            };
        });
        k.create(vmYaml("refused", "Always", 2, "1Gi"));
        await("the binding write refused and retried", refused::get, n -> n >= 2);
        k.create(vmYaml("next", "Always", 2, "1Gi"));
        VirtualMachine next = await("next bound on the capacity the refused binding held for a moment",
                () -> k.vm("next"), vm -> vm.getStatus() != null && "node-a".equals(vm.getStatus().nodeName));
        assertEquals("True", condition(next, "Scheduled").orElseThrow().getStatus());
        assertNull(k.vm("refused").getStatus(), "nothing of the refused decision reached the server");
    }
}
