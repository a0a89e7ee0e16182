package org.sealift.protocol.verification;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Model-checks the commit rules (PROTOCOL.md, "Final phase and commit") with spin: the Promela model in
 * docs/commit-model.pml against a dom0 that drops, delays, duplicates, reorders and replays tokens, pauses,
 * resumes, starts and destroys domains at any time, rolls back or deletes sealed state, crashes hosts or
 * loses them for good. Safety: never two running copies and no fork of the VM's history, no destination
 * resume without RELEASE or a fence, no source resume after RELEASE without the ABORT token or a fence, no
 * stale copy resumed. Liveness: once dom0 behaves, eventually exactly one copy runs.
 *
 * <p>Every rule matters: each {@link Mutation} breaks one and spin must find the violation, so the
 * properties are shown to be able to fail.
 */
class CommitModelTest {

    /** Exhaustive, so the depth bound only guards against a model change that makes paths explode. */
    private static final String DEPTH_BOUND = "-m1000000";
    private static final String HASH_SIZE = "-w22";

    private static Spin.Check safety(String label, boolean optimize, String... modelDefines) {
        return new Spin.Check(label, List.of(modelDefines), List.of("SAFETY", "NOCLAIM", "COLLAPSE"),
                List.of(DEPTH_BOUND, HASH_SIZE), optimize);
    }

    private static Spin.Check liveness(String label, boolean optimize, String... modelDefines) {
        List<String> defines = new ArrayList<>(List.of(modelDefines));
        defines.add("LIVENESS");
        // NFAIR: the weak-fairness search needs a bit per process (up to 8 here)
        return new Spin.Check(label, defines, List.of("COLLAPSE", "NFAIR=4"),
                List.of("-a", "-f", DEPTH_BOUND, HASH_SIZE), optimize);
    }

    @Test
    void oneMigrationIsSafeWhateverDom0DoesWithAnyNumberOfCrashes() {
        Spin.Result r = Spin.run(safety("safety, one migration, crashes/rollbacks/losses unbounded", true, "NM=1"));
        System.out.println(r.summary());
        Spin.assertVerified(r);
        assertTrue(r.output().contains("assertion violations\t+"), "the search checked the assertions");
    }

    @Test
    void twoConcurrentMigrationsOfOneVmAreSafe() {
        Spin.Result r = Spin.run(safety("safety, two concurrent migrations, at most 2 crashes or losses", true,
                "NM=2", "CRASHES=2"));
        System.out.println(r.summary());
        Spin.assertVerified(r);
    }

    @Test
    void oneCopyRunsOnceDom0StopsMisbehaving() {
        Spin.Result r = Spin.run(liveness("liveness <>[] one running, one migration, dom0 misbehaves 3 times",
                true, "NM=1", "BUDGET=3"));
        System.out.println(r.summary());
        Spin.assertVerified(r);
        assertTrue(r.output().contains("acceptance   cycles \t+ (fairness enabled)"),
                "the search looked for fair acceptance cycles");
    }

    @Test
    void oneCopyRunsOnceDom0StopsMisbehavingWithTwoMigrations() {
        Spin.Result r = Spin.run(liveness("liveness <>[] one running, two migrations, dom0 misbehaves once",
                true, "NM=2", "BUDGET=1"));
        System.out.println(r.summary());
        Spin.assertVerified(r);
    }

    /** One broken rule each; the model checker must catch every one. */
    enum Mutation {
        SRC_RESUME_AFTER_RELEASE("the source resumes after RELEASE without the ABORT token or a fence"),
        DST_RESUME_ON_READY("the destination resumes once READY, without RELEASE"),
        NO_LOCK("no per-VM migration lock: two migrations of one VM both release"),
        ACCEPT_ONE_BELOW("the sealed state before the newest committed one is accepted (one-step rollback)"),
        NO_RECOMMIT("no double commit of the recovered state after a restart"),
        ACT_BEFORE_COMMIT("tokens sent and resumes done before the counter increment"),
        DST_ABORT_AFTER_RESUME("the destination may issue ABORT after it resumed"),
        TRUST_DELETED_STATE("deleted sealed state is read as a fresh host"),
        RESUME_KEEPS_MANIFEST("a resume after the MANIFEST does not record ABORT, RELEASE stays possible"),
        FENCE_ANY_MIGRATION("the operator fences an older migration than the newest"),
        NO_RETRY("nobody re-serves a lost RELEASE or ABORT token (a liveness rule)");

        final String broken;

        Mutation(String broken) {
            this.broken = broken;
        }

        Spin.Check check() {
            String label = "mutant " + name() + " (" + broken + ")";
            String define = "MUT_" + name();
            // small bounds: a counterexample is a few crashes deep; -O0 compiles fast and the search stops early
            return this == NO_RETRY
                    ? liveness(label, false, define, "NM=1", "BUDGET=2")
                    : safety(label, false, define, "NM=2", "CRASHES=2");
        }
    }

    @ParameterizedTest
    @EnumSource(Mutation.class)
    void everyBrokenRuleIsCaught(Mutation mutation) {
        Spin.Result r = Spin.run(mutation.check());
        System.out.println(r.summary());
        assertTrue(r.errors() > 0, () -> r.label() + ": spin found no violation, so the model does not depend"
                + " on this rule; pan said:\n" + r.output());
        String expected = mutation == Mutation.NO_RETRY ? "acceptance cycle" : "assertion violated";
        assertTrue(r.firstError() != null && r.firstError().startsWith(expected),
                () -> r.label() + ": expected '" + expected + "' (a broken property, not a modelling error),"
                        + " got: " + r.firstError());
    }
}
