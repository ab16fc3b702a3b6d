package dev.apiary.operator.vm;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.apiary.crds.VirtualMachine;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;

/**
 * The VM writes the reconciler makes: JSON merge patches (RFC 7386) that carry only the members the operator changed
 * plus {@code metadata.resourceVersion}, so the server refuses a write decided on a stale copy with 409 Conflict and
 * never loses a field the operator's model does not know. An interface so that tests can inject conflicts.
 */
public interface VmApi {
    VirtualMachine get(String namespace, String name);

    /**
     * Merge patch of the main resource of {@code vm} (which names the object; the patch says what changes) (metadata and spec; the server ignores status there). Null when the patch
     * removed the last finalizer of an object being deleted, so that the server deleted it.
     */
    VirtualMachine patch(VirtualMachine vm, ObjectNode mergePatch);

    /**
     * Merge patch of the status subresource (the server takes only {@code status} from it). The patch methods take
     * the VM the decision was made on only to name it: fabric8 reads the object first when it has none.
     */
    VirtualMachine patchStatus(VirtualMachine vm, ObjectNode mergePatch);

    static VmApi of(KubernetesClient client) {
        return new VmApi() {
            @Override
            public VirtualMachine get(String namespace, String name) {
                return client.resources(VirtualMachine.class).inNamespace(namespace).withName(name).get();
            }

            @Override
            public VirtualMachine patch(VirtualMachine vm, ObjectNode mergePatch) {
                return client.resources(VirtualMachine.class).inNamespace(vm.getMetadata().getNamespace()).resource(vm)
                        .patch(PatchContext.of(PatchType.JSON_MERGE), mergePatch.toString());
            }

            @Override
            public VirtualMachine patchStatus(VirtualMachine vm, ObjectNode mergePatch) {
                return client.resources(VirtualMachine.class).inNamespace(vm.getMetadata().getNamespace()).resource(vm)
                        .subresource("status").patch(PatchContext.of(PatchType.JSON_MERGE), mergePatch.toString());
            }
        };
    }
}
