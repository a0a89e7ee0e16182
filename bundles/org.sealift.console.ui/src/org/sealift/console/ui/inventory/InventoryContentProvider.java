package org.sealift.console.ui.inventory;

import org.eclipse.jface.viewers.ILazyTreeContentProvider;
import org.eclipse.jface.viewers.TreeViewer;

/** Fills the virtual tree row by row as rows become visible; everything comes from the {@link InventoryTreeModel}. */
public final class InventoryContentProvider implements ILazyTreeContentProvider {

    private final TreeViewer viewer;
    private final InventoryTreeModel model;

    public InventoryContentProvider(TreeViewer viewer, InventoryTreeModel model) {
        this.viewer = viewer;
        this.model = model;
    }

    @Override
    public void updateElement(Object parent, int index) {
        Object child = model.child(parent, index);
        if (child != null) {
            viewer.replace(parent, index, child);
            int n = model.childCount(child);
            if (n > 0) { // a new row has no children; JFace's setChildCount re-reads the selection, so skip it for 0
                viewer.setChildCount(child, n);
            }
        }
    }

    @Override
    public void updateChildCount(Object element, int currentChildCount) {
        int n = model.childCount(element);
        if (n != currentChildCount) {
            viewer.setChildCount(element, n);
        }
    }

    @Override
    public Object getParent(Object element) {
        return model.parent(element);
    }
}
