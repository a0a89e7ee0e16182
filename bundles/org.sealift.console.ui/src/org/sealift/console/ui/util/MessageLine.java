package org.sealift.console.ui.util;

import org.eclipse.jface.layout.GridDataFactory;
import org.eclipse.swt.SWT;
import org.eclipse.swt.graphics.Color;
import org.eclipse.swt.graphics.Image;
import org.eclipse.swt.layout.GridLayout;
import org.eclipse.swt.widgets.Composite;
import org.eclipse.swt.widgets.Label;

/**
 * An icon and a message that wraps instead of being cut: refusals and verification failures are whole sentences,
 * and the person must be able to read all of them.
 */
public final class MessageLine extends Composite {

    private final Label icon;
    private final Label text;

    public MessageLine(Composite parent) {
        super(parent, SWT.NONE);
        GridLayout layout = new GridLayout(2, false);
        layout.marginHeight = 2;
        layout.marginWidth = 4;
        setLayout(layout);
        icon = new Label(this, SWT.NONE);
        GridDataFactory.fillDefaults().align(SWT.BEGINNING, SWT.BEGINNING).exclude(true).applyTo(icon);
        icon.setVisible(false);
        text = new Label(this, SWT.WRAP);
        GridDataFactory.fillDefaults().grab(true, false).hint(200, SWT.DEFAULT).applyTo(text);
    }

    public String getText() {
        return text.getText();
    }

    /** Sets the message; re-lays out the parent when the number of lines may have changed. */
    public void set(String message, Image image, Color colour) {
        boolean sameText = message.equals(text.getText());
        if (sameText && image == icon.getImage()) {
            return;
        }
        text.setText(message);
        text.setToolTipText(message.isEmpty() ? null : message);
        text.setForeground(colour);
        icon.setImage(image);
        ((org.eclipse.swt.layout.GridData) icon.getLayoutData()).exclude = image == null;
        icon.setVisible(image != null);
        layout(true);
        getParent().layout(new org.eclipse.swt.widgets.Control[] { this });
    }
}
