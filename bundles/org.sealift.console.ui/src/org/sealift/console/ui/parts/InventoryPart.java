package org.sealift.console.ui.parts;

import jakarta.annotation.PostConstruct;

import org.eclipse.e4.ui.di.Focus;
import org.eclipse.jface.layout.GridDataFactory;
import org.eclipse.jface.viewers.ITreeContentProvider;
import org.eclipse.jface.viewers.TreeViewer;
import org.eclipse.swt.SWT;
import org.eclipse.swt.layout.GridLayout;
import org.eclipse.swt.widgets.Composite;
import org.eclipse.swt.widgets.Label;

/**
 * The host → VM → protected process tree. It stays thin: hosts come from a core inventory service
 * once agents are connected; until then it says how to get some.
 */
public class InventoryPart {

    /** Widget data key under which tests and accessibility tools find the tree. */
    public static final String TREE_ID = "org.sealift.console.inventory.tree";

    private TreeViewer viewer;

    @PostConstruct
    public void createControls(Composite parent) {
        parent.setLayout(new GridLayout(1, false));
        Label hint = new Label(parent, SWT.WRAP);
        hint.setText("No agents connected. Start a lab with './sealift lab' or add agents in Preferences.");
        GridDataFactory.fillDefaults().grab(true, false).applyTo(hint);

        viewer = new TreeViewer(parent, SWT.BORDER | SWT.V_SCROLL | SWT.H_SCROLL);
        viewer.getTree().setData(TREE_ID, Boolean.TRUE);
        viewer.setContentProvider(new ITreeContentProvider() {
            @Override
            public Object[] getElements(Object input) {
                return (Object[]) input;
            }

            @Override
            public Object[] getChildren(Object parentElement) {
                return new Object[0];
            }

            @Override
            public Object getParent(Object element) {
                return null;
            }

            @Override
            public boolean hasChildren(Object element) {
                return false;
            }
        });
        viewer.setInput(new Object[0]);
        GridDataFactory.fillDefaults().grab(true, true).applyTo(viewer.getControl());
    }

    @Focus
    public void setFocus() {
        viewer.getControl().setFocus();
    }
}
