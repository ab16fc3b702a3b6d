package dev.apiary.vmm.machine;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A guest test that runs once per accelerator this host has: the software CPU everywhere, KVM where it is
 * usable. The test method takes the {@code Accelerator} as its first parameter.
 */
@Target(ElementType.METHOD)
@Retention(RetentionPolicy.RUNTIME)
@ParameterizedTest(name = "{0}")
@MethodSource("dev.apiary.vmm.machine.GuestKit#accelerators")
public @interface OnEveryAccelerator {}
