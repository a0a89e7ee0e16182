# Boot smoke check: what Xen and dom0 look like from inside.
echo "SEALIFT-XEN-RESULT suite=smoke name=xl-info ok=1 detail=$(grep -E '^(xen_version|virt_caps|total_memory|free_memory|xen_commandline)' /tmp/xl-info.txt | tr -s ' ' | tr '\n' ';')"
xl list
ls -l /dev/xen
