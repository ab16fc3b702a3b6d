package dev.apiary.crds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

/**
 * Version skew: an operator or agent reads objects a newer version wrote, with fields its model lacks. Its client
 * must read them (a failure drops the whole watch event, so the VM would never be acted on); a manifest given to
 * `vmm run` is still read as strictly as the API server's schema.
 */
class UnknownFieldsTest {
    static final String VM = """
            {"apiVersion":"apiary.dev/v1alpha1","kind":"VirtualMachine","metadata":{"name":"v","namespace":"d"},
             "spec":{"cpus":1,"memory":"64Mi","boot":{"kernel":{"path":"k","futureBootFlag":true}},"futureKnob":{"a":1}},
             "status":{"phase":"Running","exit":{"runId":1,"futureDetail":"x"},"futureStatus":2}}""";

    @Test
    void aClientReadsObjectsWithFieldsItsModelLacks() throws Exception {
        // fabric8's own mapper fails on unknown properties for classes without an any-setter; so does a strict one.
        ObjectMapper strictClient = new ObjectMapper().enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
        VirtualMachine vm = strictClient.readValue(VM, VirtualMachine.class);
        assertEquals(1, vm.getSpec().cpus);
        assertEquals(1L, vm.getStatus().exit.runId);
        VmmNode node = strictClient.readValue("""
                {"metadata":{"name":"n"},"spec":{"unschedulable":false,"futureTaint":1},
                 "status":{"capacity":{"cpus":2,"future":1},"futureFact":{}}}""", VmmNode.class);
        assertEquals(2, node.getStatus().capacity.cpus);
    }

    @Test
    void aManifestWithAnUnknownFieldIsStillRefused() {
        ManifestException e = assertThrows(ManifestException.class, () -> Manifests.parse(VM));
        assertTrue(e.getMessage().contains("futureBootFlag") || e.getMessage().contains("futureKnob"), e.getMessage());
    }
}
