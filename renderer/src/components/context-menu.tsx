/**
 * The file context menu (role="menu"): opened by right-click, the Menu key or Shift+F10.
 * Arrow keys move between items, Escape or a click elsewhere closes it, and focus goes
 * back to the tree.
 */
import { useEffect, useLayoutEffect, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { fileActions } from '../file-actions.js';
import { useStores, useTree, useUi } from '../state/stores-context.js';
import { Icon, type IconName } from './icons.js';

interface Item {
  readonly label: string;
  readonly icon: IconName;
  readonly disabled: boolean;
  readonly run: () => void;
  readonly separatorBefore?: boolean;
  readonly shortcut?: string;
}

export function ContextMenu({ onClose }: { readonly onClose: () => void }) {
  const stores = useStores();
  const { t } = useTranslation('tree');
  const menu = useUi((s) => s.menu);
  const rowIndex = useTree((s) => s.rowIndex);
  const rows = useTree((s) => s.rows);
  const actions = useMemo(() => fileActions(stores), [stores]);
  const { t: tPermissions } = useTranslation('permissions');
  const ref = useRef<HTMLDivElement>(null);
  const [pos, setPos] = useState<{ left: number; top: number } | null>(null);

  const paths = menu?.paths ?? [];
  const single = paths.length === 1 ? rows[rowIndex.get(paths[0]!) ?? -1] : undefined;
  const close = (): void => {
    stores.ui.getState().closeMenu();
    onClose();
  };
  const editable = single !== undefined && !single.isDir;
  const desktop = stores.api.platform === 'electron';
  const items: Item[] = [
    { label: t('menu.edit'), icon: 'edit', disabled: !editable, run: () => actions.edit(paths[0]!), shortcut: 'F4' },
    ...(desktop
      ? [
          { label: t('menu.editInApp'), icon: 'edit', disabled: !editable, run: () => actions.edit(paths[0]!, 'system') } as const,
          { label: t('menu.editWith'), icon: 'edit', disabled: !editable, run: () => actions.edit(paths[0]!, 'choose') } as const,
        ]
      : []),
    { label: t('menu.download'), icon: 'download', disabled: paths.length === 0, run: () => actions.download(paths), separatorBefore: true },
    { label: t('menu.rename'), icon: 'rename', disabled: paths.length !== 1, run: () => actions.askRename(paths[0]!), shortcut: 'F2' },
    { label: t('menu.delete'), icon: 'trash', disabled: paths.length === 0, run: () => actions.askDelete(paths), shortcut: 'Del' },
    { label: tPermissions('menuItem'), icon: 'lock', disabled: paths.length === 0, run: () => actions.askPermissions(paths), shortcut: 'Alt+Enter' },
    {
      label: t('menu.newFolder'),
      icon: 'newFolder',
      disabled: false,
      run: () => actions.askNewFolder(single?.isDir ? single.path : undefined),
      separatorBefore: true,
    },
    {
      label: t('menu.sync'),
      icon: 'sync',
      disabled: paths.length > 1 || (single !== undefined && !single.isDir),
      run: () => actions.askSync(single?.isDir ? single.path : undefined),
    },
    { label: t('menu.refresh'), icon: 'refresh', disabled: false, run: () => actions.refresh(), shortcut: 'F5' },
  ];

  // Keep the menu on screen.
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el || !menu) return;
    const { width, height } = el.getBoundingClientRect();
    setPos({
      left: Math.max(4, Math.min(menu.x, window.innerWidth - width - 4)),
      top: Math.max(4, Math.min(menu.y, window.innerHeight - height - 4)),
    });
  }, [menu]);

  useEffect(() => {
    ref.current?.querySelector<HTMLElement>('[role="menuitem"]:not([disabled])')?.focus();
    const away = (e: Event): void => {
      if (ref.current && e.target instanceof Node && ref.current.contains(e.target)) return;
      stores.ui.getState().closeMenu();
    };
    const dismiss = (): void => stores.ui.getState().closeMenu();
    window.addEventListener('pointerdown', away, true);
    window.addEventListener('resize', dismiss);
    window.addEventListener('blur', dismiss);
    return () => {
      window.removeEventListener('pointerdown', away, true);
      window.removeEventListener('resize', dismiss);
      window.removeEventListener('blur', dismiss);
    };
  }, [stores]);

  if (!menu) return null;

  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>) => {
    const enabled = [...(ref.current?.querySelectorAll<HTMLElement>('[role="menuitem"]:not([disabled])') ?? [])];
    const at = enabled.indexOf(document.activeElement as HTMLElement);
    const go = (i: number): void => enabled[(i + enabled.length) % enabled.length]?.focus();
    switch (e.key) {
      case 'ArrowDown':
        e.preventDefault();
        return go(at + 1);
      case 'ArrowUp':
        e.preventDefault();
        return go(at - 1);
      case 'Home':
        e.preventDefault();
        return go(0);
      case 'End':
        e.preventDefault();
        return go(enabled.length - 1);
      case 'Escape':
      case 'Tab':
        e.preventDefault();
        return close();
      default: {
        // First letter jumps to an item, as native menus do.
        if (e.key.length !== 1) return;
        const i = enabled.findIndex((el) => el.textContent?.trim().toLowerCase().startsWith(e.key.toLowerCase()));
        if (i >= 0) go(i);
      }
    }
  };

  return (
    <div
      ref={ref}
      role="menu"
      aria-label={paths.length === 1 ? t('menu.one', { name: paths[0]!.slice(paths[0]!.lastIndexOf('/') + 1) }) : paths.length > 1 ? t('menu.many', { count: paths.length }) : t('menu.folder')}

      className="menu"
      style={pos ? { left: pos.left, top: pos.top } : { left: menu.x, top: menu.y, visibility: 'hidden' }}
      onKeyDown={onKeyDown}
      onContextMenu={(e) => e.preventDefault()}
    >
      {items.map((item) => (
        <div key={item.label} role="none" className={item.separatorBefore ? 'menu-group' : undefined}>
          <button
            type="button"
            role="menuitem"
            className="menu-item"
            disabled={item.disabled}
            onClick={() => {
              close();
              item.run();
            }}
          >
            <Icon name={item.icon} />
            <span className="menu-label">{item.label}</span>
            {item.shortcut && (
              <span className="menu-shortcut" aria-hidden="true">
                {item.shortcut}
              </span>
            )}
          </button>
        </div>
      ))}
    </div>
  );
}
