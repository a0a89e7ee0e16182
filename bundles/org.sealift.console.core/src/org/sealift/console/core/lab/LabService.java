package org.sealift.console.core.lab;

import java.util.List;
import java.util.function.Consumer;

import org.eclipse.core.runtime.IProgressMonitor;

/**
 * The training lab that {@code sealift lab} runs: attaches the console to it (or starts one in the same folder when
 * none runs, never a second one), resets it to its demo VMs, and knows the attacks its agents can inject and the
 * guided scenarios for trainees. The blocking calls talk to processes and agents: run them in a Job, never on the
 * UI thread. Listeners get a new {@link LabStatus} after every change, on the thread that made it.
 */
public interface LabService {

    LabStatus current();

    /** Adds a listener and calls it once with the current status. */
    void addListener(Consumer<LabStatus> listener);

    void removeListener(Consumer<LabStatus> listener);

    /** Re-reads the folder's lab.json and looks at the processes it names (quick: files and process table). */
    LabStatus refresh();

    /**
     * Attaches the console to the running lab (its agents, operator certificate and trust go into the console
     * settings); when no lab runs in the folder, starts one there first and waits until its agents are ready.
     * Blocks; cancelling the monitor while a lab starts stops that lab again.
     */
    LabStatus attachOrStart(IProgressMonitor monitor) throws LabException;

    /**
     * Puts the lab back to its demo VMs through the agents' management API: every VM is destroyed, then web-01 and
     * db-01 (protected process vault) are created on h1, ci-runner (busy working set) on h2 and rogue-01 on h4.
     * Refused while a migration runs. Blocks.
     *
     * @return what was done, in one sentence
     */
    String reset(IProgressMonitor monitor) throws LabException;

    /**
     * Crashes a lab host through the lab's control API (the lab runs in another process): SIGKILL to its agent and
     * its hypervisor when {@code wholeHost} (the VMs in its memory are lost, its sealed decision state stays), else
     * to its agent only (its hypervisor and VMs keep running). Refused for the rogue host and for a host already
     * down. Blocks.
     *
     * @return what the lab did, in one sentence
     */
    String crash(String host, boolean wholeHost, IProgressMonitor monitor) throws LabException;

    /**
     * Starts again what a crash stopped: a crashed host boots its hypervisor from its sealed state, then its agent,
     * which settles what the sealed decisions leave open; an agent alone reattaches to its hypervisor. Refused for
     * a host that runs. Blocks until the agent is ready (a minute or more on a busy machine).
     *
     * @return what the lab did, in one sentence
     */
    String restart(String host, IProgressMonitor monitor) throws LabException;

    /** The attacks the lab agents can inject. */
    List<LabAttack> attacks();

    /** Guided exercises for trainees. */
    List<LabScenario> scenarios();
}
