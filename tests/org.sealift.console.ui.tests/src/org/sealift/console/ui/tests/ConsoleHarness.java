package org.sealift.console.ui.tests;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.ZoneOffset;

import org.eclipse.e4.core.contexts.ContextInjectionFactory;
import org.eclipse.e4.core.contexts.EclipseContextFactory;
import org.eclipse.e4.core.contexts.IEclipseContext;
import org.eclipse.swt.SWT;
import org.eclipse.swt.custom.SashForm;
import org.eclipse.swt.layout.FillLayout;
import org.eclipse.swt.widgets.Composite;
import org.eclipse.swt.widgets.Display;
import org.eclipse.swt.widgets.Shell;
import org.sealift.console.core.attest.AttestationReviewService;
import org.sealift.console.core.internal.AttestationReviewServiceImpl;
import org.sealift.console.core.internal.CompatibilityServiceImpl;
import org.sealift.console.core.internal.InventoryServiceImpl;
import org.sealift.console.core.internal.MigrationMonitorServiceImpl;
import org.sealift.console.core.internal.SettingsServiceImpl;
import org.sealift.console.core.internal.TrustMaterialServiceImpl;
import org.sealift.console.core.inventory.InventoryService;
import org.sealift.console.core.inventory.InventorySource;
import org.sealift.console.core.migration.CompatibilityService;
import org.sealift.console.core.migration.MigrationService;
import org.sealift.console.core.monitor.MigrationMonitorService;
import org.sealift.console.core.settings.ConsoleSettings;
import org.sealift.console.core.settings.SettingsService;
import org.sealift.console.core.settings.TrustMaterialService;
import org.sealift.console.core.tests.fixtures.TestCluster;

/**
 * The console's parts in a plain shell, wired by e4 dependency injection to the real core services (made by hand
 * here, so each test has its own) over test doubles: an inventory source and, where a test migrates, a scripted
 * migration service.
 */
final class ConsoleHarness implements AutoCloseable {

    final Display display;
    final Shell shell;
    final IEclipseContext context = EclipseContextFactory.create("sealift ui test");
    final SettingsServiceImpl settings;
    final InventoryServiceImpl inventory;
    final MigrationMonitorServiceImpl monitor = new MigrationMonitorServiceImpl();
    final AttestationReviewServiceImpl review;
    final TestCluster cluster = new TestCluster();
    final Path home;

    ConsoleHarness(InventorySource source, MigrationService migrations, String title) throws Exception {
        display = Display.getDefault();
        home = Files.createTempDirectory("sealift-console");
        settings = new SettingsServiceImpl(home);
        // the cluster policy in the settings lets the console name policies in its refusals
        ConsoleSettings s = cluster.writeTrust(home.resolve("trust"), cluster.host("h1"), cluster.host("h2"));
        settings.save(s);
        TrustMaterialServiceImpl trust = new TrustMaterialServiceImpl(settings);
        inventory = source == null ? new InventoryServiceImpl() : new InventoryServiceImpl(source);
        review = new AttestationReviewServiceImpl(trust, Clock.fixed(TestCluster.NOW, ZoneOffset.UTC));
        context.set(SettingsService.class, settings);
        context.set(TrustMaterialService.class, trust);
        context.set(InventoryService.class, inventory);
        context.set(CompatibilityService.class, new CompatibilityServiceImpl(trust));
        context.set(MigrationMonitorService.class, monitor);
        context.set(AttestationReviewService.class, review);
        if (migrations != null) {
            context.set(MigrationService.class, migrations);
        }
        shell = new Shell(display, SWT.SHELL_TRIM);
        shell.setText(title);
        shell.setLayout(new FillLayout());
        shell.setBounds(0, 0, 1260, 780);
    }

    /** Makes a part the way the e4 renderer does: a child context holding its Composite. */
    <T> T part(Class<T> type, Composite parent) {
        return part(type, parent, context);
    }

    /** A part in a context of its own (for example with another monitor service). */
    <T> T part(Class<T> type, Composite parent, IEclipseContext parentContext) {
        Composite c = new Composite(parent, SWT.BORDER);
        IEclipseContext ctx = parentContext.createChild(type.getSimpleName());
        ctx.set(Composite.class, c);
        return ContextInjectionFactory.make(type, ctx);
    }

    SashForm split(int... weights) {
        SashForm sash = new SashForm(shell, SWT.HORIZONTAL);
        return sash;
    }

    void open() {
        shell.open();
        shell.forceActive();
    }

    @Override
    public void close() {
        if (!shell.isDisposed()) {
            shell.dispose();
        }
        context.dispose();
    }
}
