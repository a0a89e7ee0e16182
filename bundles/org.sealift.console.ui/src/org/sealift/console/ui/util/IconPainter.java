package org.sealift.console.ui.util;

import org.eclipse.swt.graphics.ImageData;
import org.eclipse.swt.graphics.PaletteData;

/**
 * Paints the console's small icons in code (no image files to ship or license): shapes in a 16-unit coordinate
 * space, 4×4 supersampled for smooth edges, rendered at any pixel size for HiDPI.
 */
final class IconPainter {

    interface Shape {
        boolean contains(double x, double y);
    }

    private final int px;
    private final double scale;
    private final double[] r;
    private final double[] g;
    private final double[] b;
    private final double[] a;
    private double dx;
    private double dy;

    IconPainter(int pixels) {
        px = pixels;
        scale = pixels / 16.0;
        r = new double[px * px];
        g = new double[px * px];
        b = new double[px * px];
        a = new double[px * px];
    }

    /** Moves everything painted from now on by (x, y) icon units. */
    IconPainter offset(double x, double y) {
        dx = x;
        dy = y;
        return this;
    }

    /** Paints {@code s} in colour {@code rgb} (0xRRGGBB) over what is there. */
    IconPainter fill(Shape s, int rgb) {
        double cr = (rgb >> 16 & 0xff) / 255.0;
        double cg = (rgb >> 8 & 0xff) / 255.0;
        double cb = (rgb & 0xff) / 255.0;
        for (int y = 0; y < px; y++) {
            for (int x = 0; x < px; x++) {
                int hits = 0;
                for (int sy = 0; sy < 4; sy++) {
                    for (int sx = 0; sx < 4; sx++) {
                        if (s.contains((x + (sx + 0.5) / 4) / scale - dx, (y + (sy + 0.5) / 4) / scale - dy)) {
                            hits++;
                        }
                    }
                }
                if (hits == 0) {
                    continue;
                }
                double cov = hits / 16.0;
                int i = y * px + x;
                double outA = cov + a[i] * (1 - cov);
                r[i] = (cr * cov + r[i] * a[i] * (1 - cov)) / outA;
                g[i] = (cg * cov + g[i] * a[i] * (1 - cov)) / outA;
                b[i] = (cb * cov + b[i] * a[i] * (1 - cov)) / outA;
                a[i] = outA;
            }
        }
        return this;
    }

    ImageData toImageData() {
        ImageData d = new ImageData(px, px, 24, new PaletteData(0xFF0000, 0x00FF00, 0x0000FF));
        byte[] alpha = new byte[px * px];
        for (int i = 0; i < px * px; i++) {
            int rgb = (int) Math.round(r[i] * 255) << 16 | (int) Math.round(g[i] * 255) << 8
                    | (int) Math.round(b[i] * 255);
            d.setPixel(i % px, i / px, rgb);
            alpha[i] = (byte) Math.round(a[i] * 255);
        }
        d.alphaData = alpha;
        return d;
    }

    static Shape rect(double x0, double y0, double x1, double y1) {
        return (x, y) -> x >= x0 && x < x1 && y >= y0 && y < y1;
    }

    static Shape roundRect(double x0, double y0, double x1, double y1, double rad) {
        return (x, y) -> {
            if (x < x0 || x >= x1 || y < y0 || y >= y1) {
                return false;
            }
            double cx = Math.max(x0 + rad, Math.min(x, x1 - rad));
            double cy = Math.max(y0 + rad, Math.min(y, y1 - rad));
            return (x - cx) * (x - cx) + (y - cy) * (y - cy) <= rad * rad;
        };
    }

    static Shape circle(double cx, double cy, double rad) {
        return (x, y) -> (x - cx) * (x - cx) + (y - cy) * (y - cy) <= rad * rad;
    }

    static Shape ring(double cx, double cy, double outer, double inner) {
        return (x, y) -> {
            double d = (x - cx) * (x - cx) + (y - cy) * (y - cy);
            return d <= outer * outer && d >= inner * inner;
        };
    }

    /** A polyline of the given width with round joins. */
    static Shape line(double width, double... pts) {
        double h = width / 2;
        return (x, y) -> {
            for (int i = 0; i + 3 < pts.length; i += 2) {
                if (segmentDistance(x, y, pts[i], pts[i + 1], pts[i + 2], pts[i + 3]) <= h) {
                    return true;
                }
            }
            return false;
        };
    }

    static Shape polygon(double... pts) {
        return (x, y) -> {
            boolean in = false;
            for (int i = 0, j = pts.length - 2; i < pts.length; j = i, i += 2) {
                double xi = pts[i];
                double yi = pts[i + 1];
                double xj = pts[j];
                double yj = pts[j + 1];
                if ((yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi) {
                    in = !in;
                }
            }
            return in;
        };
    }

    static Shape and(Shape s, Shape t) {
        return (x, y) -> s.contains(x, y) && t.contains(x, y);
    }

    private static double segmentDistance(double px, double py, double ax, double ay, double bx, double by) {
        double dx = bx - ax;
        double dy = by - ay;
        double t = ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy);
        t = Math.max(0, Math.min(1, t));
        double qx = ax + t * dx - px;
        double qy = ay + t * dy - py;
        return Math.sqrt(qx * qx + qy * qy);
    }
}
