package org.sealift.console.ui.util;

import org.eclipse.swt.widgets.Widget;

/**
 * Names of the widgets a person interacts with, stored as widget data so tests and accessibility tools find them
 * without depending on layout.
 */
public final class UiIds {

    /** Widget data key. */
    public static final String KEY = "org.sealift.console.id";

    public static final String INVENTORY_TREE = "inventory.tree";
    public static final String INVENTORY_HINT = "inventory.hint";
    public static final String INVENTORY_MESSAGE = "inventory.message";
    public static final String DETAILS_TITLE = "details.title";
    public static final String DETAILS_TABLE = "details.table";
    public static final String DETAILS_RECONNECT = "details.reconnect";
    public static final String DETAILS_MIGRATE = "details.migrate";
    public static final String WIZARD_HOSTS = "wizard.hosts";
    public static final String WIZARD_MODE = "wizard.mode";
    public static final String WIZARD_ROUNDS = "wizard.rounds";
    public static final String WIZARD_DOWNTIME = "wizard.downtime";
    public static final String WIZARD_BANDWIDTH = "wizard.bandwidth";
    public static final String WIZARD_CHECKS = "wizard.checks";
    public static final String WIZARD_SUMMARY = "wizard.summary";
    public static final String MONITOR_RUNS = "monitor.runs";
    public static final String MONITOR_BANNER = "monitor.banner";
    public static final String MONITOR_CANCEL = "monitor.cancel";
    public static final String MONITOR_LINK = "monitor.attestationLink";
    public static final String MONITOR_TIMELINE = "monitor.timeline";
    public static final String CHART_PAGES = "chart.pages";
    public static final String CHART_THROUGHPUT = "chart.throughput";
    public static final String CHART_DOWNTIME = "chart.downtime";
    public static final String ATTEST_TABLE = "attest.table";
    public static final String ATTEST_VERIFY = "attest.verify";
    public static final String ATTEST_VERDICT = "attest.verdict";
    public static final String ATTEST_DETAIL = "attest.detail";
    public static final String ATTEST_FILTER_VM = "attest.filter.vm";
    public static final String ATTEST_FILTER_HOST = "attest.filter.host";
    public static final String ATTEST_FILTER_OUTCOME = "attest.filter.outcome";
    public static final String ATTEST_MESSAGE = "attest.message";
    public static final String PREFS_MESSAGE = "prefs.message";
    public static final String PREFS_SAVE = "prefs.save";
    public static final String PREFS_AGENTS = "prefs.agents";
    public static final String PREFS_REVERT = "prefs.revert";
    public static final String PREFS_DOWNTIME = "prefs.downtime";

    private UiIds() {
    }

    public static <W extends Widget> W tag(W widget, String id) {
        widget.setData(KEY, id);
        return widget;
    }
}
