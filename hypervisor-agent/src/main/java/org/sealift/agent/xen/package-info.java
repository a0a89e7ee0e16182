/**
 * The Xen backend: {@link org.sealift.agent.xen.XenBackend} drives a real Xen host through JNA and
 * libsealift-xen (native/xen-shim). Tests run it end to end against native/fakexen, the stand-in Xen libraries.
 */
package org.sealift.agent.xen;
