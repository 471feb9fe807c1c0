/** The tab icon: two stacked snapshots, the newer one in front. */
export const DASHBOARD_FAVICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">
<rect x="3" y="3" width="20" height="20" rx="4" fill="#9db7e8"/>
<rect x="9" y="9" width="20" height="20" rx="4" fill="#1f5fbf"/>
<path d="M14 19l3 3 6-7" stroke="#fff" stroke-width="2.5" fill="none" stroke-linecap="round" stroke-linejoin="round"/>
</svg>
`;
