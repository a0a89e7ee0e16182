package org.sealift.console.ui.monitor;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

import org.eclipse.swt.SWT;
import org.eclipse.swt.graphics.Color;
import org.eclipse.swt.graphics.GC;
import org.eclipse.swt.graphics.Point;
import org.eclipse.swt.graphics.Rectangle;
import org.eclipse.swt.widgets.Canvas;
import org.eclipse.swt.widgets.Composite;
import org.sealift.console.core.monitor.MigrationRun;
import org.sealift.console.core.monitor.PhaseMark;
import org.sealift.model.MigrationPhase;

/**
 * One bar across the migration's time: a segment per phase (handshake, pre-copy, stop-and-copy, awaiting READY,
 * released, finished), proportional to how long it lasted, labelled where it fits.
 */
public final class PhaseTimeline extends Canvas {

    private static final Map<MigrationPhase, Integer> COLOURS = new EnumMap<>(MigrationPhase.class);

    static {
        COLOURS.put(MigrationPhase.HANDSHAKE, 0x7e57c2);
        COLOURS.put(MigrationPhase.PRECOPY, 0x2f6db5);
        COLOURS.put(MigrationPhase.STOP_AND_COPY, 0xd99a00);
        COLOURS.put(MigrationPhase.AWAITING_READY, 0xe07b00);
        COLOURS.put(MigrationPhase.RELEASED, 0x2e9e44);
        COLOURS.put(MigrationPhase.FINISHED, 0x6b7280);
    }

    private final Map<MigrationPhase, Color> colours = new EnumMap<>(MigrationPhase.class);
    private List<PhaseMark> marks = List.of();
    private long endMillis;

    public PhaseTimeline(Composite parent) {
        super(parent, SWT.DOUBLE_BUFFERED);
        COLOURS.forEach((p, rgb) -> colours.put(p, new Color(getDisplay(), rgb >> 16 & 0xff, rgb >> 8 & 0xff,
                rgb & 0xff)));
        addPaintListener(e -> paint(e.gc));
    }

    @Override
    public Point computeSize(int wHint, int hHint, boolean changed) {
        return new Point(wHint == SWT.DEFAULT ? 400 : wHint, 44);
    }

    /** Shows {@code run}'s phases; {@code nowMillis} ends the current phase while the run is still going. */
    public void show(MigrationRun run, long nowMillis) {
        marks = run == null ? List.of() : run.timeline();
        endMillis = marks.isEmpty() ? 0 : Math.max(nowMillis, marks.get(marks.size() - 1).atMillis());
        redraw();
    }

    /** The phases shown, in order (tests read what a person sees). */
    public List<MigrationPhase> phases() {
        List<MigrationPhase> out = new ArrayList<>();
        marks.forEach(m -> out.add(m.phase()));
        return out;
    }

    private void paint(GC gc) {
        Rectangle area = getClientArea();
        gc.setBackground(getDisplay().getSystemColor(SWT.COLOR_WIDGET_BACKGROUND));
        gc.fillRectangle(area);
        int x0 = 4;
        int width = area.width - 8;
        int barY = 4;
        int barH = 18;
        if (marks.isEmpty() || width <= 0) {
            gc.setForeground(getDisplay().getSystemColor(SWT.COLOR_DARK_GRAY));
            gc.drawText("Phase timeline: no migration selected", x0, barY, true);
            return;
        }
        long total = Math.max(1, endMillis);
        for (int i = 0; i < marks.size(); i++) {
            PhaseMark m = marks.get(i);
            long end = i + 1 < marks.size() ? marks.get(i + 1).atMillis() : endMillis;
            int a = x0 + (int) (width * m.atMillis() / total);
            int b = x0 + (int) (width * end / total);
            if (m.phase() == MigrationPhase.FINISHED) {
                b = Math.max(b, a + 6);
            }
            gc.setBackground(colours.get(m.phase()));
            gc.fillRectangle(a, barY, Math.max(2, b - a), barH);
            String label = m.phase().toString().toLowerCase().replace('_', ' ');
            Point ext = gc.textExtent(label);
            gc.setForeground(getDisplay().getSystemColor(SWT.COLOR_WHITE));
            if (ext.x + 4 < b - a) {
                gc.drawText(label, a + 3, barY + (barH - ext.y) / 2, true);
            }
        }
        gc.setForeground(getDisplay().getSystemColor(SWT.COLOR_DARK_GRAY));
        gc.drawText("0 ms", x0, barY + barH + 2, true);
        String end = endMillis + " ms";
        gc.drawText(end, x0 + width - gc.textExtent(end).x, barY + barH + 2, true);
        // legend for phases too short to carry their own label
        StringBuilder small = new StringBuilder();
        for (int i = 0; i < marks.size(); i++) {
            long endAt = i + 1 < marks.size() ? marks.get(i + 1).atMillis() : endMillis;
            long len = endAt - marks.get(i).atMillis();
            if (width * len / total < 60 && marks.get(i).phase() != MigrationPhase.FINISHED) {
                small.append(small.length() == 0 ? "" : ", ").append(marks.get(i).phase().toString().toLowerCase()
                        .replace('_', ' ')).append(' ').append(len).append(" ms");
            }
        }
        if (small.length() > 0) {
            String s = small.toString();
            gc.drawText(s, x0 + (width - gc.textExtent(s).x) / 2, barY + barH + 2, true);
        }
    }
}
