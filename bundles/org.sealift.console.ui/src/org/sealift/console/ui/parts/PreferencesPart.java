package org.sealift.console.ui.parts;

import jakarta.annotation.PostConstruct;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Inject;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

import org.eclipse.e4.ui.di.Focus;
import org.eclipse.jface.layout.GridDataFactory;
import org.eclipse.jface.layout.TableColumnLayout;
import org.eclipse.jface.viewers.ArrayContentProvider;
import org.eclipse.jface.viewers.ColumnLabelProvider;
import org.eclipse.jface.viewers.ColumnWeightData;
import org.eclipse.jface.viewers.IStructuredSelection;
import org.eclipse.jface.viewers.TableViewer;
import org.eclipse.jface.viewers.TableViewerColumn;
import org.eclipse.swt.SWT;
import org.eclipse.swt.custom.ScrolledComposite;
import org.eclipse.swt.layout.GridLayout;
import org.eclipse.swt.widgets.Button;
import org.eclipse.swt.widgets.Combo;
import org.eclipse.swt.widgets.Composite;
import org.eclipse.swt.widgets.DirectoryDialog;
import org.eclipse.swt.widgets.FileDialog;
import org.eclipse.swt.widgets.Group;
import org.eclipse.swt.widgets.Label;
import org.eclipse.swt.widgets.Text;
import org.sealift.console.core.inventory.AgentRef;
import org.sealift.console.core.migration.InDoubtService;
import org.sealift.console.core.settings.ConsoleSettings;
import org.sealift.console.core.settings.SettingsService;
import org.sealift.console.ui.util.UiIds;
import org.sealift.model.MigrationMode;
import org.sealift.model.MigrationOptions;

/**
 * The console's settings: agents to connect to, the operator's client certificate and key (mutual TLS), the cluster
 * trust anchor, policy and AK certificates (for verifying attestations and checking drops), and the migration
 * wizard's defaults. Save validates everything and names each problem. Settings saved elsewhere (another console
 * window, the lab picking up its agents) show up here at once unless this form holds edits of its own, which are
 * kept: the message then says so, and Revert loads the new settings.
 */
public class PreferencesPart {

    @Inject
    SettingsService settings;

    /** The agent client's in-doubt resolution; absent in a console without it. */
    @Inject
    @org.eclipse.e4.core.di.annotations.Optional
    InDoubtService inDoubt;

    private final List<AgentRef> agents = new ArrayList<>();
    private TableViewer agentTable;
    private Text agentName;
    private Text agentAddress;
    private Text operatorCert;
    private Text operatorKey;
    private Text trustAnchor;
    private Text policy;
    private Text akCerts;
    private Combo mode;
    private Text rounds;
    private Text downtime;
    private Text bandwidth;
    private Label message;
    /** What the fields were last loaded from or saved as: the form has edits of its own when they read otherwise. */
    private ConsoleSettings loaded;
    private Consumer<ConsoleSettings> listener;

    @PostConstruct
    public void createControls(Composite parent) {
        parent.setLayout(new org.eclipse.swt.layout.FillLayout());
        ScrolledComposite scroll = new ScrolledComposite(parent, SWT.V_SCROLL | SWT.H_SCROLL);
        Composite c = new Composite(scroll, SWT.NONE);
        c.setLayout(new GridLayout(1, false));

        Group ag = group(c, "Agents to connect to (management API, mutual TLS)", 4);
        Composite tableBox = new Composite(ag, SWT.NONE);
        TableColumnLayout tl = new TableColumnLayout();
        tableBox.setLayout(tl);
        GridDataFactory.fillDefaults().grab(true, false).span(4, 1).hint(SWT.DEFAULT, 110).applyTo(tableBox);
        agentTable = new TableViewer(tableBox, SWT.BORDER | SWT.MULTI | SWT.FULL_SELECTION);
        UiIds.tag(agentTable.getTable(), UiIds.PREFS_AGENTS);
        agentTable.getTable().setHeaderVisible(true);
        agentTable.setContentProvider(ArrayContentProvider.getInstance());
        TableViewerColumn n = new TableViewerColumn(agentTable, SWT.NONE);
        n.getColumn().setText("Host id");
        tl.setColumnData(n.getColumn(), new ColumnWeightData(30, 80));
        n.setLabelProvider(ColumnLabelProvider.createTextProvider(o -> ((AgentRef) o).name()));
        TableViewerColumn a = new TableViewerColumn(agentTable, SWT.NONE);
        a.getColumn().setText("Address");
        tl.setColumnData(a.getColumn(), new ColumnWeightData(70, 160));
        a.setLabelProvider(ColumnLabelProvider.createTextProvider(o -> ((AgentRef) o).address().toString()));
        agentName = new Text(ag, SWT.BORDER);
        agentName.setMessage("host id, e.g. h1");
        GridDataFactory.fillDefaults().hint(130, SWT.DEFAULT).applyTo(agentName);
        agentAddress = new Text(ag, SWT.BORDER);
        agentAddress.setMessage("https://10.0.0.11:7443");
        GridDataFactory.fillDefaults().grab(true, false).applyTo(agentAddress);
        button(ag, "Add", () -> {
            try {
                agents.add(AgentRef.parse(agentName.getText(), agentAddress.getText()));
                agentName.setText("");
                agentAddress.setText("");
                agentTable.refresh();
                say(null);
            } catch (IllegalArgumentException e) {
                say(e.getMessage());
            }
        });
        button(ag, "Remove", () -> {
            agents.removeAll(((IStructuredSelection) agentTable.getSelection()).toList());
            agentTable.refresh();
        });

        Group op = group(c, "Operator identity (client certificate for the agents' mutual TLS)", 3);
        operatorCert = pathField(op, "Certificate:", false, false);
        operatorKey = pathField(op, "Private key:", false, false);

        Group tr = group(c, "Trust (verifying attestations and checking drops)", 3);
        trustAnchor = pathField(tr, "Trust anchor (cluster-trust.pem):", false, false);
        policy = pathField(tr, "Signed cluster policy:", false, false);
        akCerts = pathField(tr, "Hosts' AK certificates (file or folder):", false, true);

        Group def = group(c, "Migration defaults (the wizard starts with these)", 2);
        new Label(def, SWT.NONE).setText("Mode:");
        mode = new Combo(def, SWT.READ_ONLY);
        mode.setItems("secure", "plain");
        rounds = field(def, "Max pre-copy rounds:");
        downtime = UiIds.tag(field(def, "Downtime target (ms):"), UiIds.PREFS_DOWNTIME);
        bandwidth = field(def, "Bandwidth limit (MiB/s, 0 = none):");

        new InDoubtSection(group(c, "In-doubt migrations (resolution by token files)", 1), inDoubt);

        Composite bar = new Composite(c, SWT.NONE);
        bar.setLayout(new GridLayout(3, false));
        GridDataFactory.fillDefaults().grab(true, false).applyTo(bar);
        Button save = button(bar, "Save", this::save);
        UiIds.tag(save, UiIds.PREFS_SAVE);
        UiIds.tag(button(bar, "Revert", () -> {
            load(settings.current());
            say("Reverted to " + settings.file() + ".");
        }), UiIds.PREFS_REVERT);
        message = UiIds.tag(new Label(bar, SWT.WRAP), UiIds.PREFS_MESSAGE);
        GridDataFactory.fillDefaults().grab(true, false).hint(400, SWT.DEFAULT).applyTo(message);

        load(settings.current());
        if (settings.loadProblem() != null) {
            say(settings.loadProblem().getMessage());
        } else {
            say("Settings file: " + settings.file() + settings.lab().map(l -> ". No agents are configured, so the"
                    + " console uses the lab's agents and credentials from " + l.dir()).orElse(""));
        }
        listener = changed -> c.getDisplay().asyncExec(() -> {
            if (!c.isDisposed() && !changed.equals(loaded)) {
                settingsChangedElsewhere(changed);
            }
        });
        settings.addListener(listener);
        scroll.setContent(c);
        scroll.setExpandHorizontal(true);
        scroll.setExpandVertical(true);
        scroll.setMinSize(c.computeSize(SWT.DEFAULT, SWT.DEFAULT));
    }

    private static Group group(Composite parent, String title, int columns) {
        Group g = new Group(parent, SWT.NONE);
        g.setText(title);
        g.setLayout(new GridLayout(columns, false));
        GridDataFactory.fillDefaults().grab(true, false).applyTo(g);
        return g;
    }

    private static Text field(Composite parent, String label) {
        new Label(parent, SWT.NONE).setText(label);
        Text t = new Text(parent, SWT.BORDER);
        GridDataFactory.fillDefaults().hint(100, SWT.DEFAULT).applyTo(t);
        return t;
    }

    private Text pathField(Composite parent, String label, boolean save, boolean allowFolder) {
        new Label(parent, SWT.NONE).setText(label);
        Text t = new Text(parent, SWT.BORDER);
        GridDataFactory.fillDefaults().grab(true, false).align(SWT.FILL, SWT.CENTER).hint(260, SWT.DEFAULT).applyTo(t);
        Composite b = new Composite(parent, SWT.NONE);
        GridLayout bl = new GridLayout(allowFolder ? 2 : 1, false);
        bl.marginHeight = 0;
        bl.marginWidth = 0;
        b.setLayout(bl);
        button(b, "File\u2026", () -> {
            FileDialog d = new FileDialog(parent.getShell(), save ? SWT.SAVE : SWT.OPEN);
            d.setText(label);
            String f = d.open();
            if (f != null) {
                t.setText(f);
            }
        });
        if (allowFolder) {
            button(b, "Folder\u2026", () -> {
                String f = new DirectoryDialog(parent.getShell()).open();
                if (f != null) {
                    t.setText(f);
                }
            });
        }
        return t;
    }

    private static Button button(Composite parent, String text, Runnable action) {
        Button b = new Button(parent, SWT.PUSH);
        b.setText(text);
        b.addListener(SWT.Selection, e -> action.run());
        return b;
    }

    private void settingsChangedElsewhere(ConsoleSettings changed) {
        if (hasEdits()) {
            say("The settings were changed elsewhere (" + settings.file() + "); this form keeps your edits. Revert"
                    + " loads the new settings, Save replaces them with this form.");
        } else {
            load(changed);
            say("Reloaded: the settings were changed elsewhere (" + settings.file() + ").");
        }
    }

    private boolean hasEdits() {
        List<String> problems = new ArrayList<>();
        ConsoleSettings form = fromFields(problems);
        // fields that do not even read are someone's unfinished edit
        return !problems.isEmpty() || !form.equals(loaded);
    }

    private void load(ConsoleSettings s) {
        loaded = s;
        agents.clear();
        agents.addAll(s.agents());
        agentTable.setInput(agents);
        operatorCert.setText(text(s.operatorCertificate()));
        operatorKey.setText(text(s.operatorKey()));
        trustAnchor.setText(text(s.trustAnchor()));
        policy.setText(text(s.policy()));
        akCerts.setText(text(s.akCertificates()));
        MigrationOptions o = s.defaults();
        mode.select(o.mode() == MigrationMode.SECURE ? 0 : 1);
        rounds.setText(Integer.toString(o.maxRounds()));
        downtime.setText(Integer.toString(o.downtimeTargetMs()));
        bandwidth.setText(Integer.toString(o.bandwidthMiBps()));
    }

    private static String text(Path p) {
        return p == null ? "" : p.toString();
    }

    private static Path path(Text t) {
        String s = t.getText().trim();
        return s.isEmpty() ? null : Path.of(s);
    }

    /** Reads the fields into settings, or names what is wrong. */
    ConsoleSettings read() {
        List<String> problems = new ArrayList<>();
        ConsoleSettings s = fromFields(problems);
        problems.addAll(s.problems());
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException(String.join("\n", problems));
        }
        return s;
    }

    /** The fields as settings, unchecked; numbers that do not read are added to {@code problems}. */
    private ConsoleSettings fromFields(List<String> problems) {
        MigrationOptions options = MigrationOptions.defaults(mode.getSelectionIndex() == 1 ? MigrationMode.PLAIN
                : MigrationMode.SECURE);
        try {
            options = options.withMaxRounds(number(rounds, "max rounds"))
                    .withDowntimeTargetMs(number(downtime, "downtime target"))
                    .withBandwidthMiBps(number(bandwidth, "bandwidth limit"));
        } catch (IllegalArgumentException e) {
            problems.add(e.getMessage());
        }
        return new ConsoleSettings(agents, path(operatorCert), path(operatorKey), path(trustAnchor), path(policy),
                path(akCerts), options);
    }

    private static int number(Text t, String what) {
        try {
            return Integer.parseInt(t.getText().trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(what + " '" + t.getText().trim() + "' is not a whole number");
        }
    }

    private void save() {
        try {
            ConsoleSettings s = read();
            settings.save(s);
            loaded = s;
            say("Saved to " + settings.file() + ".");
        } catch (IllegalArgumentException e) {
            say("Not saved:\n" + e.getMessage());
        } catch (java.io.IOException e) {
            say("Not saved: cannot write " + settings.file() + ": " + e.getMessage());
        }
    }

    private void say(String text) {
        message.setText(text == null ? "" : text);
        message.getParent().getParent().layout(true, true);
    }

    @Focus
    public void setFocus() {
        agentTable.getControl().setFocus();
    }

    @PreDestroy
    public void dispose() {
        if (listener != null) {
            settings.removeListener(listener);
        }
    }
}
