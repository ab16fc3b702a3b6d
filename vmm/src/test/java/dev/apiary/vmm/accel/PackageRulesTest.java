package dev.apiary.vmm.accel;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The accelerator seam as rules on package dependencies (DESIGN.md, "Accelerators"; STYLE.md). */
class PackageRulesTest {
    private static JavaClasses vmm;

    @BeforeAll
    static void load() {
        vmm = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("dev.apiary.vmm");
    }

    @Test
    void nothingOutsideTheKvmAcceleratorUsesKvmTypes() {
        noClasses().that().resideOutsideOfPackages("dev.apiary.vmm.accel.kvm..", "dev.apiary.vmm.machine..",
                        "dev.apiary.vmm.cli..")
                .should().dependOnClassesThat().resideInAPackage("dev.apiary.vmm.accel.kvm..")
                .check(vmm);
    }

    @Test
    void devicesAndTheMachineSeeOnlyTheSeam() {
        // The machine picks an accelerator (AcceleratorChoice) and the CLI's doctor asks KVM for its verdict;
        // beyond that no device, bus, boot or machine class may know which accelerator runs the guest.
        noClasses().that().resideInAnyPackage("dev.apiary.vmm.bus..", "dev.apiary.vmm.pci..", "dev.apiary.vmm.nvme..",
                        "dev.apiary.vmm.uart..", "dev.apiary.vmm.chipset..", "dev.apiary.vmm.boot..",
                        "dev.apiary.vmm.block..", "dev.apiary.vmm.device..", "dev.apiary.vmm.memory..",
                        "dev.apiary.vmm.control..", "dev.apiary.vmm.firmware..", "dev.apiary.vmm.fwcfg..")
                .should().dependOnClassesThat().resideInAnyPackage("dev.apiary.vmm.accel.kvm..",
                        "dev.apiary.vmm.accel.emu..", "dev.apiary.vmm.x86..")
                .check(vmm);
        noClasses().that().resideInAPackage("dev.apiary.vmm.machine..").and().doNotHaveSimpleName("AcceleratorChoice")
                .should().dependOnClassesThat().resideInAnyPackage("dev.apiary.vmm.accel.kvm..",
                        "dev.apiary.vmm.accel.emu..", "dev.apiary.vmm.x86..")
                .check(vmm);
    }

    @Test
    void theSoftwareCpuDependsOnNothingOfTheVmm() {
        noClasses().that().resideInAPackage("dev.apiary.vmm.x86..")
                .should().dependOnClassesThat().resideInAnyPackage("dev.apiary.vmm.accel..", "dev.apiary.vmm.bus..",
                        "dev.apiary.vmm.machine..", "dev.apiary.vmm.memory..", "dev.apiary.vmm.device..",
                        "dev.apiary.vmm.intc..", "dev.apiary.vmm.chipset..", "dev.apiary.vmm.os..")
                .check(vmm);
    }

    @Test
    void interruptControllersDoNotKnowTheCpuImplementation() {
        noClasses().that().resideInAPackage("dev.apiary.vmm.intc..")
                .should().dependOnClassesThat().resideInAnyPackage("dev.apiary.vmm.accel..", "dev.apiary.vmm.machine..")
                .check(vmm);
    }
}
