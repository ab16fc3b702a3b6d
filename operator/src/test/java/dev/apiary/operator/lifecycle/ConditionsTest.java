package dev.apiary.operator.lifecycle;

import static org.junit.jupiter.api.Assertions.*;

import dev.apiary.crds.VirtualMachineStatus;
import io.fabric8.kubernetes.api.model.Condition;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ConditionsTest {
    static boolean isTrue(VirtualMachineStatus st, String type) {
        return Conditions.isTrue(st.conditions, type);
    }

    @Test
    void transitionTimeMovesOnlyWithStatus() {
        List<Condition> cs = new ArrayList<>();
        Instant t0 = Instant.parse("2025-01-01T00:00:00Z");
        assertTrue(Conditions.set(cs, "Ready", "True", "Running", "ok", t0, 1L));
        assertFalse(Conditions.set(cs, "Ready", "True", "Running", "ok", t0.plusSeconds(5), 1L));
        assertTrue(Conditions.set(cs, "Ready", "True", "Running", "still ok", t0.plusSeconds(6), 1L));
        assertEquals(t0.toString(), cs.get(0).getLastTransitionTime());
        assertTrue(Conditions.set(cs, "Ready", "False", "Stopped", "stopped", t0.plusSeconds(7), 1L));
        assertEquals(t0.plusSeconds(7).toString(), cs.get(0).getLastTransitionTime());
    }
}
