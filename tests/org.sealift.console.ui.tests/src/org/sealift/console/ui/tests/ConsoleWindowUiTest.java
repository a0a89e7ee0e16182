package org.sealift.console.ui.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

import org.eclipse.e4.ui.internal.workbench.E4Workbench;
import org.eclipse.e4.ui.internal.workbench.swt.E4Application;
import org.eclipse.e4.ui.model.application.MApplication;
import org.eclipse.e4.ui.model.application.ui.basic.MPart;
import org.eclipse.e4.ui.workbench.modeling.EModelService;
import org.eclipse.equinox.app.IApplication;
import org.eclipse.equinox.app.IApplicationContext;
import org.eclipse.swt.widgets.Composite;
import org.eclipse.swt.widgets.Control;
import org.eclipse.swt.widgets.Display;
import org.eclipse.swt.widgets.Label;
import org.eclipse.swt.widgets.Shell;
import org.eclipse.swt.widgets.Tree;
import org.junit.jupiter.api.Test;
import org.osgi.framework.Bundle;
import org.osgi.framework.FrameworkUtil;
import org.sealift.console.ui.parts.InventoryPart;

/**
 * Boots the console's real e4 application model (org.sealift.console.app/Application.e4xmi) with the
 * same renderers as the product, then looks at what a person would see: a window titled "Sealift"
 * showing the Inventory part. Needs an X display (the build runs under xvfb-run).
 */
class ConsoleWindowUiTest {

    private static final String APP_BUNDLE = "org.sealift.console.app";

    @Test
    void mainWindowIsTitledSealiftAndShowsTheInventoryPart() {
        Display display = Display.getDefault();
        E4Application application = new E4Application();
        E4Workbench workbench = application.createE4Workbench(new TestApplicationContext(), display);
        MApplication model = workbench.getApplication();

        AtomicReference<Throwable> failure = new AtomicReference<>();
        List<String> seen = new ArrayList<>();
        // The workbench runs the event loop until it is closed; the checks run inside that loop once
        // the window is up, then close the workbench so createAndRunUI returns.
        display.timerExec(500, new Runnable() {
            private int attempts;

            @Override
            public void run() {
                Shell shell = Arrays.stream(display.getShells()).filter(Shell::isVisible)
                        .filter(s -> "Sealift".equals(s.getText())).findFirst().orElse(null);
                if (shell == null && ++attempts < 60) {
                    display.timerExec(250, this);
                    return;
                }
                try {
                    assertNotNull(shell, "no visible shell titled 'Sealift'; shells: "
                            + Arrays.stream(display.getShells()).map(Shell::getText).toList());
                    EModelService models = model.getContext().get(EModelService.class);
                    MPart part = (MPart) models.find("org.sealift.console.part.inventory", model);
                    assertNotNull(part, "Inventory part missing from the application model");
                    assertEquals("Inventory", part.getLabel());
                    assertTrue(part.isToBeRendered() && part.isVisible(), "Inventory part is not shown");
                    assertTrue(part.getObject() instanceof InventoryPart, "part object: " + part.getObject());
                    Control widget = (Control) part.getWidget();
                    assertNotNull(widget, "Inventory part was not rendered");
                    assertTrue(widget.isVisible() && widget.getShell() == shell,
                            "Inventory part is not visible in the main window");
                    collect(widget, seen);
                    Tree tree = find(widget, Tree.class);
                    assertNotNull(tree, "Inventory part has no tree");
                    assertEquals(Boolean.TRUE, tree.getData(InventoryPart.TREE_ID));
                    assertEquals(0, tree.getItemCount(), "inventory must be empty without agents");
                    assertTrue(seen.stream().anyMatch(t -> t.contains("No agents connected")),
                            "the empty inventory should say how to connect agents; labels: " + seen);
                } catch (Throwable t) {
                    failure.set(t);
                } finally {
                    workbench.close();
                }
            }
        });
        workbench.createAndRunUI(model);
        assertNull(failure.get(), () -> "UI check failed: " + failure.get());
    }

    private static void collect(Control control, List<String> texts) {
        if (control instanceof Label label) {
            texts.add(label.getText());
        }
        if (control instanceof Composite composite) {
            for (Control child : composite.getChildren()) {
                collect(child, texts);
            }
        }
    }

    private static <T extends Control> T find(Control control, Class<T> type) {
        if (type.isInstance(control)) {
            return type.cast(control);
        }
        if (control instanceof Composite composite) {
            for (Control child : composite.getChildren()) {
                T found = find(child, type);
                if (found != null) {
                    return found;
                }
            }
        }
        return null;
    }

    /** What the OSGi application container would hand the product's application. */
    private static final class TestApplicationContext implements IApplicationContext {
        private final String[] args = { "-applicationXMI", APP_BUNDLE + "/Application.e4xmi",
                "-applicationCSS", "platform:/plugin/" + APP_BUNDLE + "/css/default.css",
                "-clearPersistedState", "-persistState", "false" };

        @Override
        public Map<String, Object> getArguments() {
            return Map.of(IApplicationContext.APPLICATION_ARGS, args);
        }

        @Override
        public void applicationRunning() {
        }

        @Override
        public String getBrandingApplication() {
            return "org.eclipse.e4.ui.workbench.swt.E4Application";
        }

        @Override
        public String getBrandingName() {
            return "Sealift";
        }

        @Override
        public String getBrandingDescription() {
            return "Sealift console";
        }

        @Override
        public String getBrandingId() {
            return APP_BUNDLE + ".product";
        }

        @Override
        public String getBrandingProperty(String key) {
            return null;
        }

        @Override
        public Bundle getBrandingBundle() {
            return Arrays.stream(FrameworkUtil.getBundle(ConsoleWindowUiTest.class).getBundleContext().getBundles())
                    .filter(b -> APP_BUNDLE.equals(b.getSymbolicName())).findFirst().orElse(null);
        }

        @Override
        public void setResult(Object result, IApplication application) {
        }
    }
}
