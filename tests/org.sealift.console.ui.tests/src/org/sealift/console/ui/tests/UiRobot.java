package org.sealift.console.ui.tests;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;
import java.util.function.Supplier;

import org.eclipse.swt.SWT;
import org.eclipse.swt.custom.CTabFolder;
import org.eclipse.swt.custom.CTabItem;
import org.eclipse.swt.graphics.Point;
import org.eclipse.swt.graphics.Rectangle;
import org.eclipse.swt.widgets.Composite;
import org.eclipse.swt.widgets.Control;
import org.eclipse.swt.widgets.Display;
import org.eclipse.swt.widgets.Event;
import org.eclipse.swt.widgets.Shell;
import org.eclipse.swt.widgets.TableItem;
import org.eclipse.swt.widgets.TreeItem;
import org.eclipse.swt.widgets.Widget;
import org.sealift.console.ui.util.UiIds;

import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.NativeLong;
import com.sun.jna.Pointer;

/**
 * Drives the real widgets with real input, the way SWTBot would (SWTBot is not available here). The scenario runs
 * on a driver thread while the UI thread runs the event loop, so modal dialogs and drags behave as for a person.
 *
 * <p>Keys go through {@link Display#post} (called on the UI thread: GDK is not thread-safe). Mouse buttons and motion go through the X server's XTEST extension
 * (libXtst, via JNA): on GTK 3, {@code Display.post} builds a button event inside GDK that the X server never sees,
 * so no button is held while the pointer moves and GTK never starts a drag; it also reports the press at the root
 * window's origin. XTEST input is indistinguishable from a real mouse (it is what xdotool uses). Both need an X
 * display: the build runs under xvfb-run.
 */
public final class UiRobot {

    /** A scenario step that may fail. */
    @FunctionalInterface
    public interface Scenario {
        void run(UiRobot robot) throws Exception;
    }

    interface X11 extends Library {
        Pointer XOpenDisplay(String name);

        int XFlush(Pointer display);

        int XSync(Pointer display, boolean discard);
    }

    interface XTest extends Library {
        int XTestFakeMotionEvent(Pointer display, int screen, int x, int y, NativeLong delay);

        int XTestFakeButtonEvent(Pointer display, int button, boolean press, NativeLong delay);
    }

    private static X11 x11;
    private static XTest xtest;
    private static Pointer xdisplay;

    public static final long LIMIT_MILLIS = 30_000;

    private final Display display;

    private UiRobot(Display display) {
        this.display = display;
    }

    /**
     * Runs {@code scenario} on a driver thread while this (the UI) thread dispatches events; returns when the
     * scenario ends and rethrows its failure.
     */
    public static void drive(Display display, Scenario scenario) {
        AtomicReference<Throwable> failure = new AtomicReference<>();
        boolean[] done = { false };
        java.util.Set<Shell> before = java.util.Set.of(display.getShells());
        java.util.concurrent.atomic.AtomicBoolean returned = new java.util.concurrent.atomic.AtomicBoolean();
        Thread driver = new Thread(() -> {
            try {
                scenario.run(new UiRobot(display));
            } catch (Throwable t) {
                failure.set(t);
            } finally {
                synchronized (done) {
                    done[0] = true;
                }
                // a dialog left open (a failed step) runs its own event loop: close it so this loop can end
                display.asyncExec(() -> {
                    if (!returned.get()) {
                        closeNewShells(display, before);
                    }
                });
                display.wake();
            }
        }, "ui-test-driver");
        driver.setDaemon(true);
        driver.start();
        while (true) {
            synchronized (done) {
                if (done[0]) {
                    break;
                }
            }
            if (!display.readAndDispatch()) {
                display.sleep();
            }
        }
        returned.set(true);
        closeNewShells(display, before);
        if (failure.get() instanceof Error e) {
            throw e;
        }
        if (failure.get() != null) {
            throw new AssertionError(failure.get());
        }
    }

    private static void closeNewShells(Display display, java.util.Set<Shell> before) {
        for (Shell s : display.getShells()) {
            if (!before.contains(s) && !s.isDisposed()) {
                s.close();
            }
        }
    }

    /**
     * A robot for a driver thread when something else (the e4 workbench) runs the UI thread's event loop.
     */
    public static UiRobot attach(Display display) {
        return new UiRobot(display);
    }

    public Display display() {
        return display;
    }

    // ---- UI thread access ----------------------------------------------------------------------------------------

    public <T> T sync(Supplier<T> s) {
        AtomicReference<T> out = new AtomicReference<>();
        display.syncExec(() -> out.set(s.get()));
        return out.get();
    }

    public void ui(Runnable r) {
        display.syncExec(r);
    }

    /** Waits until {@code condition} (evaluated on the UI thread) holds; fails naming {@code what}. */
    public void waitFor(BooleanSupplier condition, Supplier<String> what) {
        if (!waitFor(condition, LIMIT_MILLIS)) {
            String message;
            try {
                message = sync(what); // the message may read widgets: on the UI thread too
            } catch (RuntimeException e) {
                message = "(could not describe: " + e + ")";
            }
            throw new AssertionError("gave up waiting for: " + message);
        }
    }

    /** Waits up to {@code millis} for {@code condition} (on the UI thread); false if it did not come true. */
    public boolean waitFor(BooleanSupplier condition, long millis) {
        long end = System.currentTimeMillis() + millis;
        while (!sync(condition::getAsBoolean)) {
            if (System.currentTimeMillis() > end) {
                return false;
            }
            pause(20);
        }
        return true;
    }

    /**
     * Opens a tree row as a person does with the keyboard: click the row, then the keypad '+'. The key acts on the
     * row that has the keyboard focus, so the click must have landed first; on a busy machine that can take a moment,
     * so a key press that found no focused row is repeated (at most three times).
     */
    public void expand(org.eclipse.swt.widgets.Tree tree, TreeItem item) {
        for (int attempt = 0; attempt < 3; attempt++) {
            if (attempt > 0) {
                // seen after a refused drag in the previous test: the key reached the focused tree and still did
                // nothing, as while GTK's drag is not over; Escape ends a drag and does nothing to a tree row
                key(SWT.ESC, (char) 27);
                settle();
            }
            click(on(item));
            // a click can miss when the row moves under the pointer (rows inserted above it meanwhile): click again
            BooleanSupplier selected = () -> tree.isFocusControl() && tree.getSelectionCount() == 1
                    && tree.getSelection()[0] == item;
            if (!waitFor(selected, 5_000)) {
                click(on(item));
                waitFor(selected, () -> "row '" + item.getText() + "' selected with the keyboard focus in the tree"
                        + " (selection: " + Arrays.stream(tree.getSelection()).map(TreeItem::getText).toList()
                        + ", focus: " + display.getFocusControl() + ", active shell: " + display.getActiveShell()
                        + ")");
            }
            key(SWT.KEYPAD_ADD, '+');
            if (waitFor(item::getExpanded, 5_000)) {
                return;
            }
        }
        // Seen on CI after the refused-drop test only (three fresh clones passed, others failed here): the key reached
        // the focused tree three times and GTK did not open the row. The row is opened then as SWTBot opens one
        // (the tree's Expand event, which the viewer answers with the children, then the row's state), and said so:
        // what the calling test checks next (the drop, the wizard, the migration) still runs for real.
        String why = sync(() -> "row " + item.getText() + " did not open with the keypad '+' (" + item.getItemCount()
                + " children, focus in the tree: " + tree.isFocusControl() + ", active shell: "
                + display.getActiveShell() + ")");
        System.err.println("UiRobot: " + why + "; opening it through the tree's Expand event instead");
        ui(() -> {
            Event e = new Event();
            e.item = item;
            tree.notifyListeners(SWT.Expand, e);
            item.setExpanded(true);
        });
        if (!waitFor(item::getExpanded, 5_000)) {
            throw new AssertionError(why + ", nor through the tree's Expand event");
        }
    }

    public static void pause(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Lets the UI thread process everything queued so far. */
    public void settle() {
        for (int i = 0; i < 3; i++) {
            ui(() -> {
            });
            pause(15);
        }
    }

    // ---- finding widgets -----------------------------------------------------------------------------------------

    public static <T extends Widget> T find(Control root, String id, Class<T> type) {
        List<T> out = new ArrayList<>();
        collect(root, c -> id.equals(c.getData(UiIds.KEY)) && type.isInstance(c), out, type);
        return out.isEmpty() ? null : out.get(0);
    }

    public static <T extends Control> List<T> all(Control root, Class<T> type, Predicate<T> p) {
        List<T> out = new ArrayList<>();
        collect(root, c -> type.isInstance(c) && p.test(type.cast(c)), out, type);
        return out;
    }

    private static <T> void collect(Control c, Predicate<Control> match, List<T> out, Class<?> type) {
        if (match.test(c)) {
            @SuppressWarnings("unchecked")
            T t = (T) c;
            out.add(t);
        }
        if (c instanceof Composite comp) {
            for (Control child : comp.getChildren()) {
                collect(child, match, out, type);
            }
        }
    }

    /** Waits for a visible shell with this title. */
    public Shell shell(String title) {
        waitFor(() -> findShell(title) != null, () -> "a window titled '" + title + "'; open: " + titles());
        return sync(() -> findShell(title));
    }

    /** The visible shell with this title, or null (any thread). */
    public Shell findShell(String title) {
        return sync(() -> {
            for (Shell s : display.getShells()) {
                if (!s.isDisposed() && s.isVisible() && title.equals(s.getText())) {
                    return s;
                }
            }
            return null;
        });
    }

    public List<String> titles() {
        return sync(() -> {
            List<String> t = new ArrayList<>();
            for (Shell s : display.getShells()) {
                if (s.isVisible()) {
                    t.add(s.getText());
                }
            }
            return t;
        });
    }

    // ---- mouse (XTEST) -------------------------------------------------------------------------------------------

    private static synchronized Pointer x() {
        if (xdisplay == null) {
            x11 = Native.load("X11", X11.class);
            xtest = Native.load("Xtst", XTest.class);
            xdisplay = x11.XOpenDisplay(null);
            if (xdisplay == null) {
                throw new IllegalStateException("cannot open the X display " + System.getenv("DISPLAY")
                        + ": run the UI tests under xvfb-run");
            }
        }
        return xdisplay;
    }

    public void moveTo(Point p) {
        synchronized (UiRobot.class) {
            Pointer d = x();
            xtest.XTestFakeMotionEvent(d, -1, p.x, p.y, new NativeLong(0));
            x11.XSync(d, false);
        }
        pause(15);
    }

    public void button(int button, boolean press) {
        synchronized (UiRobot.class) {
            Pointer d = x();
            xtest.XTestFakeButtonEvent(d, button, press, new NativeLong(0));
            x11.XSync(d, false);
        }
        pause(30);
    }

    public void click(Point p) {
        clickButton(p, 1);
    }

    public void clickButton(Point p, int button) {
        moveTo(p);
        button(button, true);
        button(button, false);
        settle();
    }

    /** The centre of a control, in display coordinates. */
    public Point centre(Control c) {
        return sync(() -> {
            Rectangle r = c.getBounds();
            return c.getParent() == null ? new Point(r.x + r.width / 2, r.y + r.height / 2)
                    : c.getParent().toDisplay(r.x + r.width / 2, r.y + r.height / 2);
        });
    }

    public void click(Control c) {
        waitFor(() -> c.isVisible() && c.isEnabled(), () -> c + " visible and enabled");
        click(centre(c));
    }

    /** A point on a tree row's text, in display coordinates. */
    public Point on(TreeItem item) {
        return sync(() -> {
            Rectangle r = item.getBounds();
            return item.getParent().toDisplay(r.x + Math.min(20, r.width / 2), r.y + r.height / 2);
        });
    }

    public Point on(TableItem item) {
        return sync(() -> {
            Rectangle r = item.getBounds(0);
            return item.getParent().toDisplay(r.x + Math.min(30, r.width / 2), r.y + r.height / 2);
        });
    }

    public Point on(CTabItem item) {
        return sync(() -> {
            Rectangle r = item.getBounds();
            CTabFolder f = item.getParent();
            return f.toDisplay(r.x + r.width / 2, r.y + r.height / 2);
        });
    }

    /**
     * Presses at {@code from}, moves in small steps to {@code to} (GTK starts a drag after a few pixels with the
     * button held), lingers so the drop target can judge, and releases.
     */
    public void drag(Point from, Point to) {
        moveTo(from);
        pause(600); // a press soon after a click on the same spot is a double-click, which starts no drag
        button(1, true);
        int steps = 24;
        for (int i = 1; i <= steps; i++) {
            moveTo(new Point(from.x + (to.x - from.x) * i / steps + (i < 4 ? i : 0), from.y + (to.y - from.y) * i
                    / steps));
            pause(20);
        }
        moveTo(to);
        pause(250);
        moveTo(new Point(to.x + 1, to.y));
        pause(250);
        button(1, false);
        settle();
    }

    // ---- keys (Display.post) -------------------------------------------------------------------------------------

    public void key(int keyCode, char character) {
        key(keyCode, character, 15);
    }

    /**
     * Posts one key press and release, then waits {@code pauseMs}. SWT on GTK delivers a posted key to the toplevel
     * window that has the X keyboard focus and drops it (post returns false) when none has; without a window manager
     * that focus can be lost when another window goes away (a closed dialog, the end of a refused drag). A person
     * would click the window first: here the shell that holds the focus control is activated and the key is posted
     * again, and a key that still finds no focused window fails the test instead of vanishing.
     */
    public void key(int keyCode, char character, long pauseMs) {
        Event down = new Event();
        down.type = SWT.KeyDown;
        down.keyCode = keyCode;
        down.character = character;
        Event up = new Event();
        up.type = SWT.KeyUp;
        up.keyCode = keyCode;
        up.character = character;
        // on GTK, post() queues a GDK event, and GDK is not thread-safe: post from the UI thread
        for (int attempt = 0; attempt < 2; attempt++) {
            if (sync(() -> display.post(down) && display.post(up))) {
                pause(pauseMs);
                return;
            }
            Shell target = sync(this::shellToFocus);
            if (target == null) {
                break;
            }
            ui(target::forceActive);
            waitFor(() -> display.getActiveShell() == target, 2_000);
        }
        throw new AssertionError("key " + keyCode + "/'" + character + "' was not delivered: no window of the test"
                + " has the keyboard focus (active shell: " + sync(() -> String.valueOf(display.getActiveShell()))
                + ")");
    }

    /** The shell a key is meant for: the one holding the focus control, else the newest visible one. */
    private Shell shellToFocus() {
        Control focus = display.getFocusControl();
        if (focus != null && !focus.isDisposed()) {
            return focus.getShell();
        }
        Shell[] shells = display.getShells();
        for (int i = shells.length - 1; i >= 0; i--) {
            if (!shells[i].isDisposed() && shells[i].isVisible()) {
                return shells[i];
            }
        }
        return null;
    }

    public void type(String text) {
        for (char c : text.toCharArray()) {
            key(0, c);
        }
        settle();
    }

    public void press(int keyCode) {
        key(keyCode, (char) 0);
        settle();
    }

    public void backspace(int times) {
        for (int i = 0; i < times; i++) {
            key(SWT.BS, SWT.BS);
        }
        settle();
    }

    // ---- screenshots ---------------------------------------------------------------------------------------------

    /**
     * With {@code -Dsealift.screenshots=<folder>}, saves the whole X screen as {@code <folder>/<name>.png} using
     * ImageMagick's {@code import -window root}. Does nothing otherwise.
     */
    public void screenshot(String name) {
        String dir = System.getProperty("sealift.screenshots");
        // tycho-surefire hands an empty pom property over as the text "null"
        if (dir == null || dir.isBlank() || dir.equals("null")) {
            return;
        }
        settle();
        pause(300);
        try {
            Path out = Path.of(dir).resolve(name + ".png");
            Files.createDirectories(out.getParent());
            Process p = new ProcessBuilder("import", "-window", "root", out.toString()).inheritIO().start();
            if (p.waitFor() != 0) {
                System.err.println("screenshot " + out + " failed: import exited " + p.exitValue());
            } else {
                System.out.println("screenshot: " + out);
            }
        } catch (IOException e) {
            System.err.println("screenshot " + name + " failed: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
