package dev.apiary.operator.vm;

import dev.apiary.crds.VirtualMachine;
import io.fabric8.kubernetes.client.KubernetesClient;

/**
 * The VM writes the reconciler makes, each conditional on the object's resourceVersion (409 when stale). An
 * interface so that tests can inject conflicts the mock server does not produce (it ignores a stale
 * resourceVersion on PUT /status).
 */
public interface VmApi {
    VirtualMachine get(String namespace, String name);

    /** PUT of the main resource (metadata and spec; status is ignored by the server). */
    VirtualMachine update(VirtualMachine vm);

    /** PUT of the status subresource. */
    VirtualMachine updateStatus(VirtualMachine vm);

    static VmApi of(KubernetesClient client) {
        return new VmApi() {
            @Override
            public VirtualMachine get(String namespace, String name) {
                return client.resources(VirtualMachine.class).inNamespace(namespace).withName(name).get();
            }

            @Override
            public VirtualMachine update(VirtualMachine vm) {
                return client.resources(VirtualMachine.class).inNamespace(vm.getMetadata().getNamespace()).resource(vm)
                        .update();
            }

            @Override
            public VirtualMachine updateStatus(VirtualMachine vm) {
                return client.resources(VirtualMachine.class).inNamespace(vm.getMetadata().getNamespace()).resource(vm)
                        .updateStatus();
            }
        };
    }
}
