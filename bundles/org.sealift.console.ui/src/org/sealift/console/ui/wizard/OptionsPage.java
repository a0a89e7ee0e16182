package org.sealift.console.ui.wizard;

import org.eclipse.jface.layout.GridDataFactory;
import org.eclipse.jface.wizard.WizardPage;
import org.eclipse.swt.SWT;
import org.eclipse.swt.layout.GridLayout;
import org.eclipse.swt.widgets.Combo;
import org.eclipse.swt.widgets.Composite;
import org.eclipse.swt.widgets.Label;
import org.eclipse.swt.widgets.Text;
import org.sealift.console.core.migration.Compatibility;
import org.sealift.console.ui.util.UiIds;
import org.sealift.model.MigrationMode;
import org.sealift.model.MigrationOptions;

/** Mode, round limit, downtime target and bandwidth limit; every problem is named in the message area. */
final class OptionsPage extends WizardPage {

    private final MigrationWizardModel model;
    private Combo mode;
    private Text rounds;
    private Text downtime;
    private Text bandwidth;

    OptionsPage(MigrationWizardModel model) {
        super("options");
        this.model = model;
        setTitle("Options");
        setDescription("How to move " + model.vm.name() + ". The defaults come from Preferences.");
    }

    @Override
    public void createControl(Composite parent) {
        Composite c = new Composite(parent, SWT.NONE);
        c.setLayout(new GridLayout(3, false));
        MigrationOptions o = model.options;

        label(c, "Mode:");
        mode = UiIds.tag(new Combo(c, SWT.READ_ONLY), UiIds.WIZARD_MODE);
        mode.setItems("secure", "plain");
        mode.select(o.mode() == MigrationMode.SECURE ? 0 : 1);
        hint(c, "secure keeps protected pages sealed end to end; plain is the unprotected baseline");
        rounds = field(c, "Max pre-copy rounds:", Integer.toString(o.maxRounds()), "1 to 1000, then stop-and-copy",
                UiIds.WIZARD_ROUNDS);
        downtime = field(c, "Downtime target (ms):", Integer.toString(o.downtimeTargetMs()),
                "stop when the estimated stop-and-copy is shorter", UiIds.WIZARD_DOWNTIME);
        bandwidth = field(c, "Bandwidth limit (MiB/s):", Integer.toString(o.bandwidthMiBps()), "0 for no limit",
                UiIds.WIZARD_BANDWIDTH);
        mode.addListener(SWT.Selection, e -> validate());
        setControl(c);
        validate();
    }

    private static void label(Composite c, String text) {
        new Label(c, SWT.NONE).setText(text);
    }

    private static void hint(Composite c, String text) {
        Label l = new Label(c, SWT.NONE);
        l.setText(text);
        l.setForeground(c.getDisplay().getSystemColor(SWT.COLOR_DARK_GRAY));
    }

    private Text field(Composite c, String label, String value, String hintText, String id) {
        label(c, label);
        Text t = UiIds.tag(new Text(c, SWT.BORDER | SWT.SINGLE), id);
        t.setText(value);
        GridDataFactory.fillDefaults().hint(90, SWT.DEFAULT).applyTo(t);
        t.addModifyListener(e -> validate());
        hint(c, hintText);
        return t;
    }

    private void validate() {
        String problem = null;
        MigrationMode m = mode.getSelectionIndex() == 1 ? MigrationMode.PLAIN : MigrationMode.SECURE;
        try {
            int r = number(rounds, "max rounds", "use 1 to 1000");
            int d = number(downtime, "downtime target", "use 1 to 600000 ms");
            int b = number(bandwidth, "bandwidth limit", "use 0 for no limit or a number of MiB/s");
            MigrationOptions o = MigrationOptions.defaults(m).withMaxRounds(r).withDowntimeTargetMs(d)
                    .withBandwidthMiBps(b);
            if (m == MigrationMode.PLAIN && model.vm.protectedProcesses() > 0 && model.destination != null) {
                Compatibility c = model.compatibility.check(model.inventory(), model.vm.hostId(), model.vm.vmId(),
                        model.destination, m);
                problem = c.refusals().stream().filter(x -> x.contains("plain mode")).findFirst().orElse(null);
            }
            model.options = o;
        } catch (IllegalArgumentException e) {
            problem = e.getMessage();
        }
        setErrorMessage(problem);
        setPageComplete(problem == null);
    }

    private static int number(Text t, String what, String fix) {
        String s = t.getText().trim();
        try {
            return Integer.parseInt(s);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(what + " '" + s + "' is not a whole number: " + fix);
        }
    }
}
