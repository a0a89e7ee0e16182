package org.sealift.console.ui.util;

import static org.sealift.console.ui.util.IconPainter.and;
import static org.sealift.console.ui.util.IconPainter.circle;
import static org.sealift.console.ui.util.IconPainter.line;
import static org.sealift.console.ui.util.IconPainter.polygon;
import static org.sealift.console.ui.util.IconPainter.rect;
import static org.sealift.console.ui.util.IconPainter.ring;
import static org.sealift.console.ui.util.IconPainter.roundRect;

import java.util.EnumMap;
import java.util.HashMap;
import java.util.Map;

import org.eclipse.swt.graphics.Image;
import org.eclipse.swt.graphics.ImageData;
import org.eclipse.swt.graphics.ImageDataProvider;
import org.eclipse.swt.widgets.Display;

/**
 * The inventory's icons: a base (host, VM, protected process) with a badge for its state (attested, not attested,
 * unreachable, connecting; running, paused, migrating, stopped). Painted in code; one cache per part, disposed with
 * it.
 */
public final class ConsoleImages {

    public enum Base {
        HOST, HOST_OFFLINE, VM, PROCESS, LOADING, BLANK
    }

    public enum Badge {
        NONE, ATTESTED, NOT_ATTESTED, UNREACHABLE, CONNECTING, RUNNING, PAUSED, MIGRATING, STOPPED, PASS, FAIL
    }

    private static final int WHITE = 0xffffff;
    private static final Map<Badge, Integer> BADGE_COLOURS = new EnumMap<>(Badge.class);

    static {
        BADGE_COLOURS.put(Badge.ATTESTED, 0x2e9e44);
        BADGE_COLOURS.put(Badge.PASS, 0x2e9e44);
        BADGE_COLOURS.put(Badge.RUNNING, 0x2e9e44);
        BADGE_COLOURS.put(Badge.NOT_ATTESTED, 0xd0342c);
        BADGE_COLOURS.put(Badge.FAIL, 0xd0342c);
        BADGE_COLOURS.put(Badge.UNREACHABLE, 0x6b7280);
        BADGE_COLOURS.put(Badge.STOPPED, 0x6b7280);
        BADGE_COLOURS.put(Badge.CONNECTING, 0x2563eb);
        BADGE_COLOURS.put(Badge.MIGRATING, 0x2563eb);
        BADGE_COLOURS.put(Badge.PAUSED, 0xd99a00);
    }

    private final Display display;
    private final Map<String, Image> cache = new HashMap<>();

    public ConsoleImages(Display display) {
        this.display = display;
    }

    public Image get(Base base, Badge badge) {
        return cache.computeIfAbsent(base + "/" + badge, k -> {
            ImageDataProvider p = zoom -> paint(base, badge, Math.max(16, 16 * zoom / 100));
            return new Image(display, p);
        });
    }

    public void dispose() {
        cache.values().forEach(Image::dispose);
        cache.clear();
    }

    /** The icon at {@code pixels}×{@code pixels}. */
    public static ImageData paint(Base base, Badge badge, int pixels) {
        IconPainter p = new IconPainter(pixels);
        switch (base) {
            case HOST, HOST_OFFLINE -> {
                int body = base == Base.HOST ? 0x44546a : 0x9aa3ad;
                p.fill(roundRect(2, 1, 14, 15, 1.6), body);
                p.fill(rect(4, 3.6, 12, 5), 0xd6dde6);
                p.fill(rect(4, 7, 12, 8.4), 0xd6dde6);
                p.fill(circle(5, 11.6, 1.1), base == Base.HOST ? 0x5ad16f : 0xc9ced4);
            }
            case VM -> {
                p.fill(roundRect(0.5, 1.5, 15.5, 11.8, 1.4), 0x2f6db5);
                p.fill(rect(2, 3, 14, 10.3), 0xdcebfa);
                p.fill(rect(6.8, 11.8, 9.2, 13.6), 0x2f6db5);
                p.fill(roundRect(4, 13.4, 12, 15, 0.7), 0x2f6db5);
            }
            case PROCESS -> {
                p.fill(and(ring(8, 6.2, 4.1, 2.4), rect(0, 0, 16, 7.5)), 0x7a5410);
                p.fill(rect(3.9, 6.2, 5.6, 8), 0x7a5410);
                p.fill(rect(10.4, 6.2, 12.1, 8), 0x7a5410);
                p.fill(roundRect(2.5, 7.2, 13.5, 15, 1.4), 0xc98a1e);
                p.fill(circle(8, 10.3, 1.4), 0x4a3208);
                p.fill(rect(7.4, 10.3, 8.6, 13.2), 0x4a3208);
            }
            case BLANK -> {
                // only the badge
            }
            case LOADING -> {
                p.fill(circle(3.5, 8, 1.5), 0x9aa3ad);
                p.fill(circle(8, 8, 1.5), 0x9aa3ad);
                p.fill(circle(12.5, 8, 1.5), 0x9aa3ad);
            }
        }
        if (badge != Badge.NONE) {
            if (base == Base.BLANK) {
                p.offset(8 - 11.6, 8 - 11.6); // a badge on its own sits in the middle
            }
            double cx = 11.6;
            double cy = 11.6;
            p.fill(circle(cx, cy, 4.6), WHITE);
            p.fill(circle(cx, cy, 3.8), BADGE_COLOURS.get(badge));
            switch (badge) {
                case ATTESTED, PASS -> p.fill(line(1.3, 9.7, 11.7, 11.1, 13.1, 13.6, 10.2), WHITE);
                case NOT_ATTESTED, FAIL -> {
                    p.fill(line(1.3, 10.1, 10.1, 13.1, 13.1), WHITE);
                    p.fill(line(1.3, 13.1, 10.1, 10.1, 13.1), WHITE);
                }
                case UNREACHABLE -> p.fill(rect(9.5, 11, 13.7, 12.3), WHITE);
                case CONNECTING -> {
                    p.fill(circle(9.9, 11.6, 0.7), WHITE);
                    p.fill(circle(11.6, 11.6, 0.7), WHITE);
                    p.fill(circle(13.3, 11.6, 0.7), WHITE);
                }
                case RUNNING -> p.fill(polygon(10.4, 9.7, 10.4, 13.5, 13.7, 11.6), WHITE);
                case PAUSED -> {
                    p.fill(rect(10, 9.8, 11.1, 13.4), WHITE);
                    p.fill(rect(12.1, 9.8, 13.2, 13.4), WHITE);
                }
                case MIGRATING -> {
                    p.fill(line(1.1, 9.6, 11.6, 13.0, 11.6), WHITE);
                    p.fill(polygon(12.0, 9.9, 14.1, 11.6, 12.0, 13.3), WHITE);
                }
                case STOPPED -> p.fill(rect(10.2, 10.2, 13, 13), WHITE);
                default -> {
                }
            }
        }
        return p.toImageData();
    }
}
